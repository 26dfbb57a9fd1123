package fakediscord

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// DiscordEpoch is the first millisecond of 2015, from which snowflakes count.
const DiscordEpoch int64 = 1420070400000

// snowflakes hands out ids shaped like Discord's: the creation time in
// milliseconds since DiscordEpoch in the high bits, then worker and increment.
// Each id is greater than the previous one.
type snowflakes struct {
	mu   sync.Mutex
	last int64
}

func (g *snowflakes) next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := (time.Now().UnixMilli()-DiscordEpoch)<<22 | 1<<17
	if id <= g.last {
		id = g.last + 1
	}
	g.last = id
	return strconv.FormatInt(id, 10)
}

// SnowflakeTime is the creation time encoded in a snowflake id.
func SnowflakeTime(id string) (time.Time, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(n>>22 + DiscordEpoch), nil
}

// randomToken is an opaque unique string for interaction tokens and session ids.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
