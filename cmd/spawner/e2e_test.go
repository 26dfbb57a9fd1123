package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// createReady runs /server create for u and waits until its ticket says ready;
// it returns the ticket channel and the task's ARN.
func createReady(t *testing.T, w *world, d *daemonHandle, u fakediscord.User, opts map[string]any) (string, string) {
	t.Helper()
	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, opts)
	resp := ix.WaitResponse(t, waitLong)
	if !resp.Ephemeral() {
		t.Fatalf("create answer is not ephemeral: %+v", resp)
	}
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "<#") })
	channelID := between(edit.Text(), "<#", ">")
	w.waitFor(t, "the ready message in the ticket channel", func() bool { return w.said(channelID, "your server is ready") }, d)
	var arn string
	for _, s := range w.table(t) {
		if s.ChannelID == channelID {
			arn = s.TaskID
		}
	}
	if arn == "" {
		t.Fatalf("no record with channel %s in the table: %+v", channelID, w.table(t))
	}
	return channelID, arn
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

func TestCreateReadyStop(t *testing.T) {
	t.Parallel()
	// Each ECS step lasts several polls, so the status message shows every one.
	w := newWorld(t, worldOptions{aws: fakeaws.Options{ProvisioningDelay: 150 * time.Millisecond, PendingDelay: 150 * time.Millisecond}})
	d := w.start(t)
	u := member(1)

	ix := w.discord.Command(u, "en-US", []string{"server", "create"}, map[string]any{"variant": "non_official"})
	resp := ix.WaitResponse(t, waitLong)
	if !resp.Ephemeral() || resp.Late {
		t.Fatalf("create must be answered privately within the deadline: %+v", resp)
	}
	edit := ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "Follow it in <#") })
	channelID := between(edit.Text(), "<#", ">")

	// The private ticket channel.
	ch, ok := w.discord.Channel(channelID)
	if !ok || ch.ParentID != categoryID {
		t.Fatalf("ticket channel %s not under the category: %+v", channelID, ch)
	}
	if o, ok := ch.Overwrite(guildID); !ok || o.Deny&fakediscord.PermViewChannel == 0 {
		t.Errorf("@everyone can see the ticket channel: %+v", ch.PermissionOverwrites)
	}
	for _, id := range []string{u.ID, adminRole} {
		if o, ok := ch.Overwrite(id); !ok || o.Allow&fakediscord.PermViewChannel == 0 || o.Allow&fakediscord.PermSendMessages == 0 || o.Allow&fakediscord.PermReadMessageHistory == 0 {
			t.Errorf("%s cannot view, read and write the ticket channel: %+v", id, ch.PermissionOverwrites)
		}
	}
	if got := w.discord.PermissionsOf(channelID, member(2)); got&fakediscord.PermViewChannel != 0 {
		t.Errorf("another member can see the ticket channel")
	}

	w.waitFor(t, "the ready message", func() bool { return w.said(channelID, "your server is ready") }, d)

	// The task as started.
	tasks := w.aws.Tasks()
	if len(tasks) != 1 {
		t.Fatalf("tasks = %d, want 1", len(tasks))
	}
	task := tasks[0]
	if task.StartedBy != spawner.StartedBy || task.CapacityProvider != "FARGATE" || task.AssignPublicIP != "ENABLED" {
		t.Errorf("task started with startedBy=%q capacity=%q publicIP=%q", task.StartedBy, task.CapacityProvider, task.AssignPublicIP)
	}
	if strings.Join(task.Subnets, ",") != "subnet-0a1b2c3d,subnet-4e5f6a7b" || strings.Join(task.SecurityGroups, ",") != "sg-0123abcd" {
		t.Errorf("network: subnets %v groups %v", task.Subnets, task.SecurityGroups)
	}
	if task.Tags[spawner.TagOwner] != u.ID || task.Tags[spawner.TagChannel] != channelID || task.Tags[spawner.TagVariant] != "non_official" {
		t.Errorf("tags = %v", task.Tags)
	}
	env := task.Environment(container)
	if env["ALLOW_NON_OFFICIAL"] != "true" || len(env["OPREDEEM_TOKEN"]) < 16 {
		t.Errorf("container environment = %v", env)
	}
	token := env["OPREDEEM_TOKEN"]

	// The ready message: address, version, variant, minimum, stop time, admin command, mention.
	var ready fakediscord.Message
	for _, m := range w.discord.Messages(channelID) {
		if strings.Contains(m.Text(), "your server is ready") {
			ready = m
		}
	}
	address := task.PublicIP + ":" + w.env["GAMESERVER_PORT"]
	for _, want := range []string{address, "1.20.2", "non-official", "**Minimum players:** 2", "<t:", "/opredeem " + token} {
		if !strings.Contains(ready.Text(), want) {
			t.Errorf("ready message lacks %q:\n%s", want, ready.Text())
		}
	}
	if !ready.Mentioned(u.ID) {
		t.Errorf("ready message does not ping the owner")
	}
	// The token goes only to the private channel: never the log channel.
	for _, m := range w.messagesIn(logChannel) {
		if strings.Contains(m, token) {
			t.Errorf("admin token in the log channel: %s", m)
		}
	}
	if strings.Contains(d.logs.String(), token) || strings.Contains(d.logs.String(), w.discord.Options().Token) {
		t.Errorf("a secret reached the daemon's logs")
	}

	// The status message went through every step, edited in place.
	status := w.discord.Messages(channelID)[0]
	var seen []string
	for _, v := range status.History {
		seen = append(seen, v.Content)
	}
	all := strings.Join(seen, "\n----\n")
	for _, step := range []string{"⏳ requested", "⏳ provisioning", "⏳ pending", "⏳ booting", "✅ ready"} {
		if !strings.Contains(all, step) {
			t.Errorf("status message never showed %q; versions:\n%s", step, all)
		}
	}

	// The record, with the original bot's attributes.
	recs := w.table(t)
	if len(recs) != 1 {
		t.Fatalf("records = %+v", recs)
	}
	r := recs[0]
	if r.TaskID != task.ARN || r.Address != task.PublicIP || r.Token != token || r.Owner != u.ID || r.Variant != "non_official" || r.State != spawner.StateReady || r.CreatedAt.IsZero() {
		t.Errorf("record = %+v", r)
	}

	// /server list and the stop autocomplete show it, to its owner.
	list := w.discord.Command(u, "en-US", []string{"server", "list"}, nil).WaitResponse(t, waitLong)
	if !list.Ephemeral() || !strings.Contains(list.Text(), address) || !strings.Contains(list.Text(), "<#"+channelID+">") {
		t.Errorf("list = %q", list.Text())
	}
	ac := w.discord.Autocomplete(u, "en-US", []string{"server", "stop"}, map[string]any{"server": ""}, "server").WaitResponse(t, waitLong)
	if len(ac.Choices) != 1 || ac.Choices[0].Value != task.ID {
		t.Errorf("stop autocomplete = %+v, want the one server %s", ac.Choices, task.ID)
	}

	// /server stop.
	stop := w.discord.Command(u, "en-US", []string{"server", "stop"}, map[string]any{"server": task.ID})
	if r := stop.WaitResponse(t, waitLong); !r.Ephemeral() {
		t.Errorf("stop answer not ephemeral")
	}
	stop.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })
	if got, _ := w.aws.Task(task.ARN); got.DesiredStatus != "STOPPED" {
		t.Errorf("task desired status = %s after stop", got.DesiredStatus)
	}
	if recs := w.table(t); len(recs) != 0 {
		t.Errorf("records left after stop: %+v", recs)
	}
	if !w.said(channelID, "Server stopped by <@"+u.ID+">") {
		t.Errorf("ticket channel not told who stopped it: %q", w.messagesIn(channelID))
	}
	w.waitFor(t, "the ticket channel to be deleted", func() bool { c, _ := w.discord.Channel(channelID); return c.Deleted }, d)
	if !w.said(logChannel, "arrêté par <@"+u.ID+">", task.ID) { // the guild speaks French
		t.Errorf("log channel not told: %q", w.messagesIn(logChannel))
	}
	// Free to create again.
	createReady(t, w, d, u, nil)
}
