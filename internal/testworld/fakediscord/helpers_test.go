package fakediscord_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

const wait = 5 * time.Second

// toFake sends what discordgo addresses to https://discord.com to the fake,
// keeping path and query.
type toFake struct {
	base *url.URL
	next http.RoundTripper
}

func (t toFake) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "discord.com" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	}
	return t.next.RoundTrip(r)
}

// bot is a discordgo session against the fake, with the events it received.
type bot struct {
	s *discordgo.Session

	mu         sync.Mutex
	events     []any
	decodeErrs []string
}

// newBot makes a session with the fake's token and transport; it is not
// opened yet.
func newBot(tb testing.TB, srv *fakediscord.Server) *bot {
	tb.Helper()
	s, err := discordgo.New("Bot " + srv.Options().Token)
	if err != nil {
		tb.Fatalf("new session: %v", err)
	}
	base, _ := url.Parse(srv.URL())
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	s.Client = &http.Client{Transport: toFake{base: base, next: tr}, Timeout: 10 * time.Second}
	s.LogLevel = -1 // discordgo's logs only say what the test asserts
	// discordgo's state cache writes into the guilds of the READY it has
	// handed to handlers; without it the events stay the test's to read.
	s.StateEnabled = false
	b := &bot{s: s}
	s.AddHandler(func(_ *discordgo.Session, e any) {
		if raw, ok := e.(*discordgo.Event); ok {
			// discordgo only logs a payload it cannot decode; fail instead.
			if raw.Struct != nil {
				v := reflect.New(reflect.TypeOf(raw.Struct).Elem()).Interface()
				if err := json.Unmarshal(raw.RawData, v); err != nil {
					b.mu.Lock()
					b.decodeErrs = append(b.decodeErrs, fmt.Sprintf("%s: %v", raw.Type, err))
					b.mu.Unlock()
				}
			}
			return
		}
		b.mu.Lock()
		b.events = append(b.events, e)
		b.mu.Unlock()
	})
	tb.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.decodeErrs {
			tb.Errorf("discordgo could not decode a dispatch: %s", e)
		}
	})
	return b
}

// openBot opens a session against the fake and waits for its READY.
func openBot(tb testing.TB, srv *fakediscord.Server) *bot {
	tb.Helper()
	b := newBot(tb, srv)
	if err := b.s.Open(); err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { b.s.Close() })
	waitEvent[*discordgo.Ready](tb, srv, b, func(*discordgo.Ready) bool { return true })
	return b
}

// waitEvent waits for an event of type T that satisfies cond.
func waitEvent[T any](tb testing.TB, srv *fakediscord.Server, b *bot, cond func(T) bool) T {
	tb.Helper()
	var found T
	srv.WaitFor(tb, fmt.Sprintf("the bot to receive a %T", found), wait, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.events {
			if t, ok := e.(T); ok && cond(t) {
				found = t
				return true
			}
		}
		return false
	})
	return found
}

func countEvents[T any](b *bot) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.events {
		if _, ok := e.(T); ok {
			n++
		}
	}
	return n
}

// restCode is the Discord error code and HTTP status of a REST error.
func restCode(tb testing.TB, err error) (status, code int) {
	tb.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		tb.Fatalf("want a REST error, got %v", err)
	}
	if re.Message != nil {
		code = re.Message.Code
	}
	return re.Response.StatusCode, code
}

// failureTB records a Fatalf instead of failing the test, to check what the
// fake reports when a wait runs out.
type failureTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *failureTB) Helper() {}

func (f *failureTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// failure runs fn on its own goroutine, as a test would, and returns the
// message it failed with ("" when it did not).
func (f *failureTB) failure(fn func()) string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}
