package discord

import "sync"

// gate keeps Close and the gateway's handlers apart. discordgo runs each
// handler in a goroutine of its own, so one may still be starting an
// answer's work when Close waits: work added then would either race
// workers.Wait or run, untracked, after Close returned.
type gate struct {
	mu     sync.Mutex
	closed bool
}

// enter counts a handler (or a worker) in b.workers unless the bot is
// closing; the caller runs only when it returns true, and then calls
// b.workers.Done when it is finished. Work a handler starts while it is
// counted is counted too, so Close waits for it.
func (b *Bot) enter() bool {
	b.gate.mu.Lock()
	defer b.gate.mu.Unlock()
	if b.gate.closed {
		return false
	}
	b.workers.Add(1)
	return true
}

// shut makes every later enter refuse; Close calls it before waiting.
func (b *Bot) shut() {
	b.gate.mu.Lock()
	b.gate.closed = true
	b.gate.mu.Unlock()
}
