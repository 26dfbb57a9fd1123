package lifecycle

import (
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Recovery at start and each pass of the sweep read the world, plan, then
// act. Each plan is a pure function of what was read, so every rule of
// reconciliation and of the watchdogs is in this file and tested by a
// table.

// observed is what recovery read: the table, the runtime and the ticket category.
type observed struct {
	records  []spawner.Server
	owned    []spawner.Task          // ListOwnedTasks: the live tasks started by the bot
	recorded map[string]spawner.Task // DescribeTasks of the recorded tasks not in owned
	channels []spawner.Channel       // under the category; nil when it could not be read
}

// verdict is what recovery does with one record.
type verdict int

const (
	verdictWatch       verdict = iota + 1 // ready (or written by the original bot): the watchdogs take it
	verdictResume                         // its task boots: a worker follows it to ready
	verdictAdopt                          // a pending record whose task had started: adopt the task, then resume
	verdictGone                           // its task is gone or stopping: clean up, tell the owner
	verdictInterrupted                    // a pending record with no task: the creation was interrupted
	verdictSuperseded                     // a pending record whose task's record exists: delete it
)

// planned is one record and what to do with it.
type planned struct {
	verdict verdict
	srv     spawner.Server // the record, with the adopted task's id and step filled in
	task    spawner.Task   // what the runtime said of its task, for verdictGone
}

// recoveryPlan is everything recovery does.
type recoveryPlan struct {
	servers []planned
	orphans []spawner.Task // owned tasks no record names: stopped
	stale   []string       // ticket channels of ours no record names: deleted
}

// planRecovery classifies every record, owned task and channel. At start
// no grace applies to orphans: a creation of this process cannot be under
// way yet.
func planRecovery(in observed) recoveryPlan {
	var p recoveryPlan
	var tracked tracking
	withTask := make(map[string]bool)
	for _, r := range in.records {
		if r.TaskID != "" && r.CreationID != "" {
			withTask[r.CreationID] = true
		}
	}
	byID := make(map[string]spawner.Task, len(in.owned))
	byCreation := make(map[string]spawner.Task, len(in.owned))
	for _, t := range in.owned {
		byID[t.ID] = t
		if c := t.Tags[spawner.TagCreation]; c != "" {
			byCreation[c] = t
		}
	}
	named := make(map[string]bool)
	for _, r := range in.records {
		tracked.add(r)
		named[r.ChannelID] = true
		if r.TaskID == "" && withTask[r.CreationID] {
			p.servers = append(p.servers, planned{verdict: verdictSuperseded, srv: r})
			continue
		}
		p.servers = append(p.servers, classify(r, byID, byCreation, in.recorded))
	}
	p.orphans = orphans(in.owned, tracked, time.Time{}, 0)
	p.stale = staleChannels(in.channels, named)
	return p
}

// classify decides what recovery does with record r.
func classify(r spawner.Server, byID, byCreation, recorded map[string]spawner.Task) planned {
	if r.TaskID == "" {
		t, started := byCreation[r.CreationID]
		if !started {
			return planned{verdict: verdictInterrupted, srv: r}
		}
		r.TaskID = t.ID
		r.State = stateOf(t, spawner.StateProvisioning)
		return planned{verdict: verdictAdopt, srv: r}
	}
	t, alive := byID[r.TaskID]
	if !alive {
		t, alive = recorded[r.TaskID]
	}
	switch {
	case !alive || t.Stopped():
		return planned{verdict: verdictGone, srv: r, task: t}
	case r.State == "" || r.State == spawner.StateReady:
		// Ready (or written by the original bot, which recorded servers
		// once up): the watchdogs take it from here.
		r.State = spawner.StateReady
		return planned{verdict: verdictWatch, srv: r}
	}
	return planned{verdict: verdictResume, srv: r}
}

// tracking is the set of task ids and creation ids the bot knows of.
type tracking map[string]bool

func (k *tracking) add(s spawner.Server) {
	if *k == nil {
		*k = make(tracking)
	}
	if s.TaskID != "" {
		(*k)[s.TaskID] = true
	}
	if s.CreationID != "" {
		(*k)[s.CreationID] = true
	}
}

// orphans is the one rule for orphans: an owned task, not stopped, that no
// record names by task id or by creation tag, and older than grace at now.
func orphans(owned []spawner.Task, tracked tracking, now time.Time, grace time.Duration) []spawner.Task {
	var out []spawner.Task
	for _, t := range owned {
		if t.Stopped() || tracked[t.ID] || tracked[t.Tags[spawner.TagCreation]] {
			continue
		}
		if grace > 0 && now.Sub(t.CreatedAt) < grace {
			continue
		}
		out = append(out, t)
	}
	return out
}

// staleChannels are the ticket channels the bot made (see ticketCreation)
// that no record names.
func staleChannels(chans []spawner.Channel, named map[string]bool) []string {
	var out []string
	for _, c := range chans {
		if _, ours := ticketCreation(c.Topic); ours && !named[c.ID] {
			out = append(out, c.ID)
		}
	}
	return out
}

// ticketCreation returns the creation id marked at the end of a ticket
// channel's topic, " · spawner:" followed by exactly 32 lowercase hex
// digits, and whether the topic carries that marker. Anything else (a
// human's topic that mentions spawner) is not ours.
func ticketCreation(topic string) (string, bool) {
	const sep = " · " + TopicMarker
	i := strings.LastIndex(topic, sep)
	if i < 0 {
		return "", false
	}
	id := topic[i+len(sep):]
	if len(id) != 32 {
		return "", false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return id, true
}

// passInput is what one pass of the sweep read.
type passInput struct {
	now     time.Time
	sweep   bool   // the pass reads the runtime (at the fleet's interval)
	servers []view // every server of the fleet, as read
	// tasks is what the runtime said of the tracked tasks, by task id, and
	// owned the tasks it lists as the bot's: nil when the pass did not
	// sweep or could not read the runtime, and then nothing is concluded
	// about any server's task, nor about orphans.
	tasks map[string]spawner.Task
	owned []spawner.Task
	grace time.Duration // how old an orphan must be to be stopped
}

// passPlan is everything a pass does.
type passPlan struct {
	checks  []check        // what is due for some servers
	orphans []spawner.Task // owned tasks no server names, older than the grace: stopped
}

// check is what is due for one server at a pass, with the server as it
// was read (view) and the changes the plan makes to it, committed before
// it is done.
type check struct {
	view
	ping      bool    // a player-count check; nextCheck is the one after
	end       *ending // its end: its task ended, or its time is up
	warnEnd   bool    // the runtime warning; it is then marked warned
	retryStop bool    // the end that failed, tried again
	save      bool    // the record, behind the mirror, written again
	nextCheck time.Time
}

// planPass decides what a pass does with what it read.
func planPass(in passInput) passPlan {
	var p passPlan
	var tracked tracking
	for _, v := range in.servers {
		tracked.add(v.srv)
		if c, ok := planCheck(v, in.now, in.sweep, in.tasks); ok {
			p.checks = append(p.checks, c)
		}
	}
	if in.owned != nil {
		p.orphans = orphans(in.owned, tracked, in.now, in.grace)
	}
	return p
}

// planCheck decides what is due at now for server v; tasks is what the
// runtime said (nil: nothing). A server a worker owns (creating, or its
// end under way) is left to it; one whose end failed is tried again at
// each sweep.
func planCheck(v view, now time.Time, sweep bool, tasks map[string]spawner.Task) (check, bool) {
	c := check{view: v}
	switch v.phase {
	case phaseEndWanted:
		c.retryStop = sweep
		return c, sweep
	case phaseWatched:
	default:
		return c, false // a worker owns it
	}
	c.save = v.unsaved && sweep
	if tasks != nil && v.srv.TaskID != "" {
		t, found := tasks[v.srv.TaskID]
		if !found || t.Stopped() {
			c.end = &ending{cause: spawner.CauseTaskEnded, detail: taskEnded(t), task: &t}
			return c, true
		}
	}
	end := v.srv.StopTime(v.game)
	switch {
	case !now.Before(end):
		c.end = &ending{cause: spawner.CauseRuntime}
	case !v.srv.RuntimeWarned && !now.Before(end.Add(-v.game.MaxDurationWarning)):
		c.warnEnd = true
	}
	if c.end == nil && countsPlayers(v.game) && !now.Before(v.nextCheck) {
		c.ping = true
		c.nextCheck = now.Add(v.game.CheckInterval)
	}
	return c, c.end != nil || c.warnEnd || c.ping || c.save
}

// nextDue is the earliest time something planCheck decides is due for a
// watched server (a runtime warning or stop, a player check), at the
// latest limit. A server a worker owns is its worker's; one whose end
// failed waits for the next sweep.
func nextDue(servers []view, limit time.Time) time.Time {
	next := limit
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	for _, v := range servers {
		if v.phase != phaseWatched {
			continue
		}
		end := v.srv.StopTime(v.game)
		if !v.srv.RuntimeWarned {
			earlier(end.Add(-v.game.MaxDurationWarning))
		}
		earlier(end)
		if countsPlayers(v.game) {
			earlier(v.nextCheck)
		}
	}
	return next
}
