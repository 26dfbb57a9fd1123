// Starts dynalite, an in-memory DynamoDB, for the Go tests of spawner.
//
// It listens on 127.0.0.1 on a port the system picks, prints {"port": N}
// as one JSON line on stdout once it accepts connections, and exits when
// its stdin closes, so it never outlives the test process that started it.
// Tables are created, updated and deleted at once (no CREATING state to wait
// out). Run by internal/testworld/dynalite (Start) with node_modules from the
// repository root, installed by `npm ci`.
'use strict'

const dynalite = require('dynalite')

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })

server.on('error', (err) => {
  process.stderr.write('dynalite: ' + err.stack + '\n')
  process.exit(1)
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n')
})

// The Go side holds our stdin open for as long as the instance lives; EOF
// (or an error, when the parent died) means it is gone.
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
