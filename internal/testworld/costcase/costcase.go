// Package costcase is November 2026 in Paris: the sessions whose cost
// internal/cost's TestEstimateMatchesHandComputation (estimate_test.go)
// computes by hand from the published rates, for the tests of
// /server cost and of the monthly report to check the same figures as a
// member reads them.
package costcase

import (
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The members of the case, as the hand computation names them.
const (
	Alice = "alice"
	Bob   = "bob"
	Carol = "carol"
	Dave  = "dave"
	Erin  = "erin"
)

// Month is the month the case prices.
var Month = spawner.Month{Year: 2026, Month: time.November}

// Now is when the hand computation is made: 00:30 UTC on 1 December 2026,
// with session D still running.
var Now = time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)

// Sessions are the case's sessions, each owner mapped by owner (the
// identity when nil): a test gives its members' Discord ids.
//
//	A alice minecraft FARGATE 1 vCPU 2 GB, IPv4, 3 Nov 20:00, 1.5 h
//	B bob valheim FARGATE_SPOT 2 vCPU 4 GB, IPv4, 10 Nov 18:00, 4 h
//	C alice minecraft, 31 Oct 23:00 to 1 Nov 01:00
//	D bob minecraft FARGATE 0.5 vCPU 1 GB, no IPv4, running since 30 Nov 23:00
//	E carol minecraft, 5 Nov 12:00, 40 s
//	F dave minecraft, size unknown, 6 Nov 12:00, 2 h
//	X erin minecraft, in October
//
// By member: bob 0.19168 USD (5 h), alice 0.1605 (2.5 h), carol 0.00107
// (40 s), dave 2 h not priced; by game: minecraft 0.19117 (5 servers),
// valheim 0.16208; in all 0.35325 USD over 9.5 h and 40 s, 6 servers, 5
// of them started in November.
func Sessions(owner func(name string) string) []spawner.Session {
	if owner == nil {
		owner = func(name string) string { return name }
	}
	const od, spot = spawner.CapacityFargate, spawner.CapacityFargateSpot
	at := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	fargate := func(id, member, game, capacity string, cpu, mem int, ip bool, start time.Time, d time.Duration) spawner.Session {
		s := spawner.Session{ID: id, Owner: owner(member), Game: game, StartedAt: start, CPU: cpu, Memory: mem,
			Capacity: capacity, Region: "eu-west-3", PublicIP: ip}
		if d > 0 {
			s.EndedAt = start.Add(d)
		}
		return s
	}
	return []spawner.Session{
		fargate("A", Alice, "minecraft", od, 1024, 2048, true, at(3, 20, 0), 90*time.Minute),
		fargate("B", Bob, "valheim", spot, 2048, 4096, true, at(10, 18, 0), 4*time.Hour),
		fargate("C", Alice, "minecraft", od, 1024, 2048, true, time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), 2*time.Hour),
		fargate("D", Bob, "minecraft", od, 512, 1024, false, at(30, 23, 0), 0),
		fargate("E", Carol, "minecraft", od, 1024, 2048, true, at(5, 12, 0), 40*time.Second),
		fargate("F", Dave, "minecraft", od, 0, 0, true, at(6, 12, 0), 2*time.Hour),
		fargate("X", Erin, "minecraft", od, 1024, 2048, true, time.Date(2026, 10, 2, 12, 0, 0, 0, time.UTC), time.Hour),
	}
}
