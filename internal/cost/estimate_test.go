package cost_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/costcase"
)

var (
	november = spawner.Month{Year: 2026, Month: time.November}
	december = spawner.Month{Year: 2026, Month: time.December}
)

// at is a time in November 2026, UTC.
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC)
}

// fargate is an ECS session in Paris (eu-west-3).
func fargate(id, member, game, capacity string, cpu, mem int, ip bool, start time.Time, d time.Duration) spawner.Session {
	s := spawner.Session{ID: id, Owner: member, Game: game, StartedAt: start, CPU: cpu, Memory: mem,
		Capacity: capacity, Region: "eu-west-3", PublicIP: ip}
	if d > 0 {
		s.EndedAt = start.Add(d)
	}
	return s
}

func docker(id, member string, start time.Time, d time.Duration) spawner.Session {
	return spawner.Session{ID: id, Owner: member, Game: "minecraft", StartedAt: start, EndedAt: start.Add(d), Capacity: spawner.CapacityDocker}
}

// paris are November's sessions of the hand computation below, shared
// with the tests of /server cost and of the monthly report (costcase).
func paris() []spawner.Session { return costcase.Sessions(nil) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestEstimateMatchesHandComputation prices November 2026 in Paris from
// the published rates (rates.json, eu-west-3): Fargate $0.0486 per
// vCPU-hour and $0.0053 per GB-hour, Fargate Spot $0.01458 and $0.00159,
// public IPv4 $0.005 an hour. The report is made at 00:30 on 1 December.
//
//	A alice minecraft FARGATE 1 vCPU 2 GB, IPv4, 1.5 h:
//	  1.5 × (1×0.0486 + 2×0.0053 + 0.005) = 1.5 × 0.0642 = 0.0963
//	B bob valheim FARGATE_SPOT 2 vCPU 4 GB, IPv4, 4 h:
//	  4 × (2×0.01458 + 4×0.00159 + 0.005) = 4 × 0.04052 = 0.16208
//	C alice minecraft, 31 Oct 23:00 to 1 Nov 01:00: November's 1 h:
//	  1 × 0.0642 = 0.0642
//	D bob minecraft FARGATE 0.5 vCPU 1 GB, no IPv4, running since
//	  30 Nov 23:00: November's 1 h: 0.5×0.0486 + 1×0.0053 = 0.0296
//	E carol, 40 s, billed the 1-minute minimum:
//	  0.0642 / 60 = 0.00107
//	F dave, size unknown, 2 h: counted, not priced
//	X erin, in October: not counted
//
//	alice 0.0963 + 0.0642 = 0.1605 (2.5 h); bob 0.16208 + 0.0296 = 0.19168 (5 h)
//	minecraft 0.0963 + 0.0642 + 0.0296 + 0.00107 + 0 = 0.19117; valheim 0.16208
//	total 0.1605 + 0.19168 + 0.00107 = 0.35325, over 9.5 h and 40 s, 6 servers
func TestEstimateMatchesHandComputation(t *testing.T) {
	e := cost.EstimateMonth(november, paris(), cost.Pricing{Rates: cost.DefaultRates()}, time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC))

	h := time.Hour
	wantMembers := []cost.Line{
		{Key: "bob", Servers: 2, Time: 5 * h, Cost: 0.19168},
		{Key: "alice", Servers: 2, Time: 150 * time.Minute, Cost: 0.1605},
		{Key: "carol", Servers: 1, Time: 40 * time.Second, Cost: 0.00107},
		{Key: "dave", Servers: 1, Time: 2 * h, Unpriced: 2 * h},
	}
	wantGames := []cost.Line{
		// A 1.5 h, C 1 h, D 1 h, E 40 s, F 2 h
		{Key: "minecraft", Servers: 5, Time: 5*h + 30*time.Minute + 40*time.Second, Cost: 0.19117, Unpriced: 2 * h},
		{Key: "valheim", Servers: 1, Time: 4 * h, Cost: 0.16208},
	}
	wantTotal := cost.Line{Servers: 6, Time: 9*h + 30*time.Minute + 40*time.Second, Cost: 0.35325, Unpriced: 2 * h}

	sameLines(t, "members", e.Members, wantMembers)
	sameLines(t, "games", e.Games, wantGames)
	sameLines(t, "total", []cost.Line{e.Total}, []cost.Line{wantTotal})
	if !reflect.DeepEqual(e.Regions, []string{"eu-west-3"}) {
		t.Errorf("regions = %v, want eu-west-3", e.Regions)
	}
	if !e.From.Equal(november.Start()) || !e.Until.Equal(november.End()) {
		t.Errorf("period [%v, %v), want November", e.From, e.Until)
	}
	if e.Pricing.Rates.Date == "" || e.Pricing.Rates.Source != "https://aws.amazon.com/fargate/pricing/" {
		t.Errorf("rates used carry date %q and source %q", e.Pricing.Rates.Date, e.Pricing.Rates.Source)
	}
}

func sameLines(tb testing.TB, what string, got, want []cost.Line) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d lines %+v, want %d %+v", what, len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.Servers != w.Servers || g.Time != w.Time || g.Unpriced != w.Unpriced || !near(g.Cost, w.Cost) {
			tb.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
		}
	}
}

// A member sees their own part alone.
func TestEstimateForMember(t *testing.T) {
	e := cost.EstimateMonth(november, paris(), cost.Pricing{Rates: cost.DefaultRates()}, december.Start())
	own := e.ForMember("alice")
	sameLines(t, "members", own.Members, []cost.Line{{Key: "alice", Servers: 2, Time: 150 * time.Minute, Cost: 0.1605}})
	sameLines(t, "games", own.Games, []cost.Line{{Key: "minecraft", Servers: 2, Time: 150 * time.Minute, Cost: 0.1605}})
	sameLines(t, "total", []cost.Line{own.Total}, []cost.Line{{Servers: 2, Time: 150 * time.Minute, Cost: 0.1605}})
	if none := e.ForMember("nobody"); len(none.Parts) != 0 || none.Total.Servers != 0 || len(none.Regions) != 0 {
		t.Errorf("a member without sessions sees %+v", none.Total)
	}
}

// Under Docker the host's monthly price is shared out by hours; without
// it, the estimate gives hours alone.
func TestEstimateDocker(t *testing.T) {
	sessions := []spawner.Session{docker("x", "xavier", at(2, 20, 0), 10*time.Hour), docker("y", "yann", at(3, 8, 0), 20*time.Hour)}
	for _, c := range []struct {
		name        string
		monthly     float64
		now         time.Time
		host, x, y  float64
		dockerHours time.Duration
	}{
		// November is 30 days: the whole price once it is over, half of it
		// on the 16th at midnight (15 days of 30). x ran 10 h of 30: a third.
		{"month over", 30, december.Start(), 30, 10, 20, 30 * time.Hour},
		{"month under way", 30, at(16, 0, 0), 15, 5, 10, 30 * time.Hour},
		{"no host price", 0, december.Start(), 0, 0, 0, 30 * time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := cost.EstimateMonth(november, sessions, cost.Pricing{Rates: cost.DefaultRates(), HostMonthly: c.monthly}, c.now)
			if !near(e.HostPrice, c.host) || e.DockerTime != c.dockerHours {
				t.Errorf("host price %v over %v, want %v over %v", e.HostPrice, e.DockerTime, c.host, c.dockerHours)
			}
			sameLines(t, "members", e.Members, []cost.Line{
				{Key: "yann", Servers: 1, Time: 20 * time.Hour, Cost: c.y},
				{Key: "xavier", Servers: 1, Time: 10 * time.Hour, Cost: c.x},
			})
			if !near(e.Total.Cost, c.host) || e.Total.Unpriced != 0 {
				t.Errorf("total = %+v, want the host's price %v and nothing unpriced", e.Total, c.host)
			}
		})
	}
	idle := cost.EstimateMonth(november, nil, cost.Pricing{Rates: cost.DefaultRates(), HostMonthly: 30}, december.Start())
	if !near(idle.Total.Cost, 30) || idle.Total.Servers != 0 {
		t.Errorf("a month without servers costs %+v, want the host's 30 all the same", idle.Total)
	}
}

func TestEstimateEdges(t *testing.T) {
	rates := cost.Pricing{Rates: cost.DefaultRates()}
	if e := cost.EstimateMonth(december, paris(), rates, at(20, 0, 0)); len(e.Parts) != 0 || !e.Until.Equal(e.From) {
		t.Errorf("a month to come has parts %+v, period [%v, %v)", e.Parts, e.From, e.Until)
	}
	ohio := fargate("O", "olga", "minecraft", spawner.CapacityFargate, 1024, 2048, true, at(4, 10, 0), time.Hour)
	ohio.Region = "us-east-2"
	nowhere := ohio
	nowhere.ID, nowhere.Region = "N", "mars-north-1"
	e := cost.EstimateMonth(november, []spawner.Session{ohio, nowhere}, rates, december.Start())
	// us-east-2: 1 × (0.04048 + 2×0.004445 + 0.005) = 0.05437
	sameLines(t, "total", []cost.Line{e.Total}, []cost.Line{{Servers: 2, Time: 2 * time.Hour, Cost: 0.05437, Unpriced: time.Hour}})
	if !reflect.DeepEqual(e.Regions, []string{"mars-north-1", "us-east-2"}) {
		t.Errorf("regions = %v", e.Regions)
	}
	// Per second, rounded up: 90 min and 1 ms are billed 90 min and 1 s.
	odd := fargate("S", "sam", "minecraft", spawner.CapacityFargate, 1024, 2048, false, at(4, 10, 0), 90*time.Minute+time.Millisecond)
	e = cost.EstimateMonth(november, []spawner.Session{odd}, rates, december.Start())
	if want := (5401.0 / 3600) * (0.0486 + 2*0.0053); !near(e.Total.Cost, want) {
		t.Errorf("cost = %v, want %v", e.Total.Cost, want)
	}
}
