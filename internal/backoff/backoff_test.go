package backoff

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name string
		b    Backoff
		// ops is the calls made in order: 'n' for Next, 'r' for Reset.
		ops  string
		want []time.Duration // what each Next returned
	}{
		{"doubles up to Max", Backoff{Min: s, Max: 30 * s}, "nnnnnnn",
			[]time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}},
		{"Max not a power of two of Min", Backoff{Min: 250 * time.Millisecond, Max: 5 * s}, "nnnnnnn",
			[]time.Duration{250 * time.Millisecond, 500 * time.Millisecond, s, 2 * s, 4 * s, 5 * s, 5 * s}},
		{"Reset starts again at Min", Backoff{Min: s, Max: 30 * s}, "nnnrnn",
			[]time.Duration{s, 2 * s, 4 * s, s, 2 * s}},
		{"Reset before any failure", Backoff{Min: s, Max: 30 * s}, "rn",
			[]time.Duration{s}},
		{"Min above Max: Max", Backoff{Min: time.Minute, Max: 5 * s}, "nn",
			[]time.Duration{5 * s, 5 * s}},
		{"Min equal to Max", Backoff{Min: 5 * s, Max: 5 * s}, "nnn",
			[]time.Duration{5 * s, 5 * s, 5 * s}},
		{"zero value never waits", Backoff{}, "nnn",
			[]time.Duration{0, 0, 0}},
		{"zero Min never waits", Backoff{Max: time.Minute}, "nn",
			[]time.Duration{0, 0}},
		{"negative Min never waits", Backoff{Min: -s, Max: time.Minute}, "nn",
			[]time.Duration{0, 0}},
		{"a huge Max does not overflow", Backoff{Min: math.MaxInt64 / 3, Max: math.MaxInt64}, "nnnn",
			[]time.Duration{math.MaxInt64 / 3, 2 * (math.MaxInt64 / 3), math.MaxInt64, math.MaxInt64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			var got []time.Duration
			for _, op := range tc.ops {
				if op == 'r' {
					b.Reset()
					continue
				}
				before := b.Failures()
				got = append(got, b.Next())
				if b.Failures() != before+1 {
					t.Fatalf("Failures went from %d to %d on Next, want one more", before, b.Failures())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("waits %v, want %v", got, tc.want)
			}
		})
	}
}

// A long run of failures (a queue down for days) keeps waiting Max.
func TestBackoffLongRun(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute}
	for range 100000 {
		b.Next()
	}
	if d := b.Next(); d != time.Minute {
		t.Errorf("after 100000 failures: %v, want Max %v", d, time.Minute)
	}
	if b.Failures() != 100001 {
		t.Errorf("Failures = %d, want 100001", b.Failures())
	}
	b.Reset()
	if b.Failures() != 0 {
		t.Errorf("Failures after Reset = %d, want 0", b.Failures())
	}
}

func TestSleep(t *testing.T) {
	t.Run("ctx ended: its error, at once", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep = %v, want context.Canceled", err)
		}
	})
	t.Run("waited: nil", func(t *testing.T) {
		if err := Sleep(context.Background(), time.Millisecond); err != nil {
			t.Errorf("Sleep = %v, want nil", err)
		}
	})
}
