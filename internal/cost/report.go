package cost

import (
	"cmp"
	"slices"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TopMembers is how many members the monthly report names.
const TopMembers = 5

// Report is the monthly report the log channel receives: who played
// most, how many servers were made, the longest session, the most servers
// at once, and the month's estimate.
type Report struct {
	Month spawner.Month
	// Top are the members with the most server time in the month, most
	// first, at most TopMembers.
	Top []Line
	// Created is how many servers were asked for in the month (sessions
	// that started in it).
	Created int
	// Longest is the longest session that started in the month, whole
	// (up to the report's time while it runs), and how long it ran; a zero
	// Session when none started.
	Longest     spawner.Session
	LongestTime time.Duration
	// Peak is the most servers that ran at once in the month, first
	// reached at PeakAt; 0 when none ran.
	Peak   int
	PeakAt time.Time
	// Estimate is the month's cost.
	Estimate Estimate
}

// MonthlyReport is the report of month from its sessions (those that ran
// in it; others are ignored), at p, as of now.
func MonthlyReport(month spawner.Month, sessions []spawner.Session, p Pricing, now time.Time) Report {
	r := Report{Month: month, Estimate: EstimateMonth(month, sessions, p, now)}
	r.Top = slices.Clone(r.Estimate.Members)
	slices.SortStableFunc(r.Top, func(a, b Line) int { return cmp.Or(cmp.Compare(b.Time, a.Time), cmp.Compare(a.Key, b.Key)) })
	r.Top = r.Top[:min(len(r.Top), TopMembers)]
	for _, s := range sessions {
		if spawner.MonthOf(s.StartedAt) != month {
			continue
		}
		r.Created++
		d := s.Duration(now)
		if r.Longest.ID == "" || d > r.LongestTime || (d == r.LongestTime && s.StartedAt.Before(r.Longest.StartedAt)) {
			r.Longest, r.LongestTime = s, d
		}
	}
	r.Peak, r.PeakAt = peak(r.Estimate)
	return r
}

// peak is the most parts of e that overlap, and when that was first
// reached. A session that ends as another starts does not overlap it.
func peak(e Estimate) (int, time.Time) {
	type edge struct {
		at    time.Time
		delta int // +1 a start, -1 an end
	}
	var edges []edge
	for _, part := range e.Parts {
		s := part.Session
		edges = append(edges, edge{latest(s.StartedAt, e.From), +1}, edge{earliest(s.Until(e.Until), e.Until), -1})
	}
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.delta, b.delta)) })
	most, now, at := 0, 0, time.Time{}
	for _, ed := range edges {
		now += ed.delta
		if now > most {
			most, at = now, ed.at
		}
	}
	return most, at
}
