package lifecycle

import (
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Recovery, and the sweep for orphans, read the world, plan, then act. The
// plan is a pure function of what was read, so every rule of
// reconciliation is in this file and tested by a table.

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
