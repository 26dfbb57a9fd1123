package cost

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Pricing is what the estimate prices sessions with.
type Pricing struct {
	Rates Rates
	// HostMonthly is what the Docker host costs a month, in Rates.Currency
	// (DOCKER_HOST_MONTHLY_PRICE); 0: not set, Docker sessions are counted
	// in hours alone.
	HostMonthly float64
}

// Line is one row of an estimate: a member's, a game's, or the total.
type Line struct {
	Key     string        // the member's id or the game's name; empty for the total
	Servers int           // sessions that ran in the period
	Time    time.Duration // their time within the period
	Cost    float64       // estimated, in Rates.Currency
	// Unpriced is the part of Time spent on ECS that has no rate: a task
	// of unknown size, or a region or capacity the table lacks.
	Unpriced time.Duration
}

// Hours is l.Time in hours.
func (l Line) Hours() float64 { return l.Time.Hours() }

// Part is one session's part of an estimate.
type Part struct {
	Session spawner.Session
	Time    time.Duration // within the period
	Cost    float64
	Priced  bool // an ECS session with a rate, or a Docker one with the host's price set
}

// Estimate is what a month's servers cost, estimated from their sessions:
// by member and by game, most expensive first, with the total and the
// rates used. Nothing in it comes from AWS's bill.
type Estimate struct {
	Month spawner.Month
	// From and Until are the period counted: the month, up to now for the
	// current one (Until == From for a month to come).
	From, Until time.Time
	Pricing     Pricing
	// Regions are the AWS regions the month's ECS sessions ran in, in
	// order: the rates to show.
	Regions []string
	Members []Line
	Games   []Line
	Total   Line
	// HostPrice is the Docker host's price for the period (HostMonthly,
	// pro rata for a month under way), shared out among Docker sessions by
	// their time; 0 when HostMonthly is not set. DockerTime is the Docker
	// sessions' time in the period.
	HostPrice  float64
	DockerTime time.Duration
	Parts      []Part
}

// Fargate bills per second, rounded up, with a minimum of one minute.
const (
	billingStep    = time.Second
	billingMinimum = time.Minute
)

// EstimateMonth estimates the cost of month from sessions (those that ran
// in it; others are ignored), at p, as of now: a session that crosses the
// month's start or end counts for its part within the month, one still
// running up to now.
//
// An ECS session costs its billed time (per second, rounded up, one minute
// at least for a session that started and ended in the month) times
// vCPU × per vCPU-hour + GB × per GB-hour of its region and capacity, plus
// the public IPv4 address's hourly price when it had one. A session of
// unknown size, or whose region or capacity the rates lack, is counted in
// Unpriced. Docker sessions share out the host's price for the period,
// each by its time.
func EstimateMonth(month spawner.Month, sessions []spawner.Session, p Pricing, now time.Time) Estimate {
	e := Estimate{Month: month, From: month.Start(), Until: earliest(month.End(), latest(now, month.Start())), Pricing: p}
	regions := map[string]bool{}
	for _, s := range sessions {
		part := e.part(s, now)
		if part.Time <= 0 {
			continue
		}
		if s.Capacity == spawner.CapacityDocker {
			e.DockerTime += part.Time
		} else if s.Region != "" {
			regions[s.Region] = true
		}
		e.Parts = append(e.Parts, part)
	}
	e.shareHost(month)
	e.Regions = slices.Sorted(maps.Keys(regions))
	e.tally()
	return e
}

// part is s's part of the period, priced when it ran on ECS.
func (e *Estimate) part(s spawner.Session, now time.Time) Part {
	from, until := latest(s.StartedAt, e.From), earliest(s.Until(now), e.Until)
	part := Part{Session: s, Time: max(until.Sub(from), 0)}
	if part.Time <= 0 || s.Capacity == spawner.CapacityDocker {
		return part
	}
	price, ok := e.Pricing.Rates.Price(s.Region, s.Capacity)
	if !ok || s.CPU <= 0 || s.Memory <= 0 {
		return part
	}
	billed := part.Time
	if rem := billed % billingStep; rem != 0 {
		billed += billingStep - rem
	}
	if !s.Running() && !s.StartedAt.Before(e.From) && !s.EndedAt.After(e.Until) {
		billed = max(billed, billingMinimum)
	}
	hours := billed.Hours()
	vcpu, gb := float64(s.CPU)/1024, float64(s.Memory)/1024
	part.Cost = hours * (vcpu*price.PerVCPUHour + gb*price.PerGBHour)
	if s.PublicIP {
		part.Cost += hours * e.Pricing.Rates.PublicIPv4PerHour
	}
	part.Priced = true
	return part
}

// shareHost sets the host's price for the period and shares it out among
// the Docker parts by their time.
func (e *Estimate) shareHost(month spawner.Month) {
	if e.Pricing.HostMonthly <= 0 {
		return
	}
	e.HostPrice = e.Pricing.HostMonthly * float64(e.Until.Sub(e.From)) / float64(month.End().Sub(month.Start()))
	if e.DockerTime <= 0 {
		return
	}
	for i, part := range e.Parts {
		if part.Session.Capacity == spawner.CapacityDocker {
			e.Parts[i].Cost = e.HostPrice * float64(part.Time) / float64(e.DockerTime)
			e.Parts[i].Priced = true
		}
	}
}

// tally sums the parts by member, by game and in all. The total's cost
// is the host's whole price for the period when no Docker session ran in
// it: the host was paid for all the same.
func (e *Estimate) tally() {
	members, games := map[string]*Line{}, map[string]*Line{}
	for _, part := range e.Parts {
		add(members, part.Session.Owner, part)
		add(games, part.Session.Game, part)
		addTo(&e.Total, part)
	}
	if e.DockerTime == 0 {
		e.Total.Cost += e.HostPrice
	}
	e.Members, e.Games = sorted(members), sorted(games)
}

func add(lines map[string]*Line, key string, part Part) {
	l, ok := lines[key]
	if !ok {
		l = &Line{Key: key}
		lines[key] = l
	}
	addTo(l, part)
}

func addTo(l *Line, part Part) {
	l.Servers++
	l.Time += part.Time
	l.Cost += part.Cost
	if !part.Priced && part.Session.Capacity != spawner.CapacityDocker {
		l.Unpriced += part.Time
	}
}

// sorted are the lines most expensive first, then the longest, then by key.
func sorted(lines map[string]*Line) []Line {
	out := make([]Line, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b Line) int {
		return cmp.Or(cmp.Compare(b.Cost, a.Cost), cmp.Compare(b.Time, a.Time), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// ForMember is the estimate of member's sessions alone, as a member sees
// their own: their line, their games, their total. Their share of the
// Docker host's price is the one they had in e; the host's price for the
// period is left out of their total.
func (e Estimate) ForMember(member string) Estimate {
	own := e
	own.Parts, own.Members, own.Games, own.Total = nil, nil, nil, Line{}
	own.DockerTime, own.HostPrice = 0, 0
	regions := map[string]bool{}
	for _, part := range e.Parts {
		if part.Session.Owner != member {
			continue
		}
		own.Parts = append(own.Parts, part)
		if part.Session.Capacity == spawner.CapacityDocker {
			own.DockerTime += part.Time
		} else if part.Session.Region != "" {
			regions[part.Session.Region] = true
		}
	}
	own.Regions = slices.DeleteFunc(slices.Clone(e.Regions), func(r string) bool { return !regions[r] })
	own.tally()
	return own
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
