//go:build testworld

package main

import testlimits "github.com/mineral-contest/spawner/internal/testworld/limits"

// Built with -tags testworld, as the end-to-end tests build the binary
// they SIGKILL (rsSpawnerBinary), the daemon takes the tests' world's
// lower floors. A release is never built so.
func init() { limits = testlimits.World() }
