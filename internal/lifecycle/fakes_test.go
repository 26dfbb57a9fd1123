package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// This file holds in-memory fakes of the outside world the Manager talks
// to. Each records its calls in a shared journal (so a test can check the
// order of things across fakes) and has switches: an error to return for the
// next calls of a method, and a hook run at the start of every call of a
// method (to block it, or to do something "meanwhile").

var (
	_ Tasks     = (*fakeTasks)(nil)
	_ Store     = (*fakeStore)(nil)
	_ Cooldowns = (*fakeStore)(nil)
	_ Pinger    = (*fakePinger)(nil)
	_ Chat      = (*fakeChat)(nil)
	_ Metrics   = (*fakeMetrics)(nil)
)

// journal is the ordered record of every call made to any fake.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	j.events = append(j.events, fmt.Sprintf(format, args...))
	j.mu.Unlock()
}

// index returns the position of the first event starting with prefix, or -1.
func (j *journal) index(prefix string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, e := range j.events {
		if strings.HasPrefix(e, prefix) {
			return i
		}
	}
	return -1
}

// count returns how many events start with prefix.
func (j *journal) count(prefix string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for _, e := range j.events {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var b strings.Builder
	for i, e := range j.events {
		fmt.Fprintf(&b, "  %3d %s\n", i, e)
	}
	return b.String()
}

// switches are a fake's fault and hook switches, by method name.
type switches struct {
	swMu   sync.Mutex
	faults map[string][]*fault
	hooks  map[string]func()
}

type fault struct {
	skip, n int
	err     error
}

// failNext makes the next n calls of method return err.
func (s *switches) failNext(method string, n int, err error) { s.failAfter(method, 0, n, err) }

// failAfter lets the next skip calls of method through, then makes the n
// calls after them return err.
func (s *switches) failAfter(method string, skip, n int, err error) {
	s.swMu.Lock()
	defer s.swMu.Unlock()
	if s.faults == nil {
		s.faults = make(map[string][]*fault)
	}
	s.faults[method] = append(s.faults[method], &fault{skip: skip, n: n, err: err})
}

// onCall sets a hook run at the start of every call of method (nil removes it).
func (s *switches) onCall(method string, hook func()) {
	s.swMu.Lock()
	defer s.swMu.Unlock()
	if s.hooks == nil {
		s.hooks = make(map[string]func())
	}
	s.hooks[method] = hook
}

// enter runs method's hook, then returns the fault due for this call, if any.
// call is enter for a method given ctx: ctx's error first, as a real
// client's, else the fault injected, if any.
func (s *switches) call(ctx context.Context, method string) error {
	err := s.enter(method)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (s *switches) enter(method string) error {
	s.swMu.Lock()
	hook := s.hooks[method]
	s.swMu.Unlock()
	if hook != nil {
		hook()
	}
	s.swMu.Lock()
	defer s.swMu.Unlock()
	q := s.faults[method]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	if f.skip > 0 {
		f.skip--
		return nil
	}
	f.n--
	if f.n <= 0 {
		s.faults[method] = q[1:]
	}
	return f.err
}

// fakeTasks is ECS (and the EC2 address lookup) with tasks in memory.
type fakeTasks struct {
	switches
	j     *journal
	clock *fakeClock

	mu    sync.Mutex
	tasks map[string]*spawner.Task
	order []string
	n     int
	runs  []spawner.TaskSpec
	stops []string // ARNs, in order
	descs [][]string
	lists int
	ips   map[string]string // task ARN → public IP

	// startStatus is the status of a task RunTask starts (provisioning by default).
	startStatus spawner.TaskStatus
	// describeFirst are tasks DescribeTasks puts first in every answer,
	// whatever it was asked, as an answer about other tasks would.
	describeFirst []spawner.Task
	// runStartsAnyway makes a RunTask that fails with a fault start its task all the same.
	runStartsAnyway bool
}

func newFakeTasks(j *journal, clock *fakeClock) *fakeTasks {
	return &fakeTasks{j: j, clock: clock, tasks: make(map[string]*spawner.Task), ips: make(map[string]string)}
}

func cloneTask(t spawner.Task) spawner.Task {
	t.Tags = maps.Clone(t.Tags)
	if t.ExitCode != nil {
		c := *t.ExitCode
		t.ExitCode = &c
	}
	return t
}

func (f *fakeTasks) RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
	f.j.add("ecs.RunTask %s", spec.CreationID)
	err := f.enter("RunTask")
	if ctx.Err() != nil {
		return spawner.Task{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	spec.Env = maps.Clone(spec.Env)
	spec.Tags = maps.Clone(spec.Tags)
	f.runs = append(f.runs, spec)
	if err != nil && !f.runStartsAnyway {
		return spawner.Task{}, err
	}
	f.n++
	status := f.startStatus
	if status == 0 {
		status = spawner.TaskProvisioning
	}
	t := &spawner.Task{
		ARN:       fmt.Sprintf("arn:aws:ecs:eu-west-3:111122223333:task/games/%032x", 0xa1b2c3d4000+f.n),
		Status:    status,
		StartedBy: spawner.StartedBy,
		ENI:       fmt.Sprintf("eni-%08x", f.n),
		PrivateIP: fmt.Sprintf("10.0.0.%d", f.n),
		Tags:      maps.Clone(spec.Tags),
		CreatedAt: f.clock.Now(),
	}
	f.addLocked(*t)
	f.j.add("ecs.started %s", spawner.TaskID(t.ARN))
	if err != nil {
		return spawner.Task{}, err
	}
	return cloneTask(*t), nil
}

func (f *fakeTasks) addLocked(t spawner.Task) {
	if _, ok := f.tasks[t.ARN]; !ok {
		f.order = append(f.order, t.ARN)
	}
	c := cloneTask(t)
	f.tasks[t.ARN] = &c
	if _, ok := f.ips[t.ARN]; !ok {
		f.ips[t.ARN] = fmt.Sprintf("203.0.113.%d", len(f.order))
	}
}

func (f *fakeTasks) DescribeTasks(ctx context.Context, arns []string) ([]spawner.Task, error) {
	f.j.add("ecs.DescribeTasks %s", strings.Join(taskIDs(arns), ","))
	err := f.enter("DescribeTasks")
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.descs = append(f.descs, slices.Clone(arns))
	if err != nil {
		return nil, err
	}
	var out []spawner.Task
	for _, t := range f.describeFirst {
		out = append(out, cloneTask(t))
	}
	for _, a := range arns {
		if t, ok := f.tasks[a]; ok {
			out = append(out, cloneTask(*t))
		}
	}
	return out, nil
}

// StopTask stops a task; one unknown or already stopped is not an error, as with the real adapter.
func (f *fakeTasks) StopTask(ctx context.Context, arn, reason string) error {
	f.j.add("ecs.StopTask %s %s", spawner.TaskID(arn), reason)
	err := f.enter("StopTask")
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	f.stops = append(f.stops, arn)
	if t, ok := f.tasks[arn]; ok && t.Status != spawner.TaskStopped {
		t.Status = spawner.TaskStopped
		t.StopWanted = true
		t.StopCode = "UserInitiated"
		t.StoppedReason = reason
	}
	return nil
}

// ListOwnedTasks lists, like ECS ListTasks(startedBy) with its default
// desired status RUNNING, the tasks started by the bot not asked to stop.
func (f *fakeTasks) ListOwnedTasks(ctx context.Context) ([]spawner.Task, error) {
	f.j.add("ecs.ListOwnedTasks")
	err := f.enter("ListOwnedTasks")
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if err != nil {
		return nil, err
	}
	var out []spawner.Task
	for _, a := range f.order {
		t := f.tasks[a]
		if t.StartedBy == spawner.StartedBy && !t.StopWanted {
			out = append(out, cloneTask(*t))
		}
	}
	return out, nil
}

func (f *fakeTasks) Address(ctx context.Context, t spawner.Task) (string, error) {
	f.j.add("ecs.Address %s", spawner.TaskID(t.ARN))
	if err := f.call(ctx, "Address"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ip, ok := f.ips[t.ARN]
	if !ok {
		return "", fmt.Errorf("no network interface for %s: %w", t.ARN, spawner.ErrNotFound)
	}
	return ip, nil
}

// add puts a task in the cluster, as if started earlier.
func (f *fakeTasks) add(t spawner.Task) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLocked(t)
}

// set changes a task as ECS would.
func (f *fakeTasks) set(arn string, change func(t *spawner.Task)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[arn]
	if !ok {
		panic("fakeTasks.set: no task " + arn)
	}
	change(t)
}

// setAll sets the status of every task that is not stopped.
func (f *fakeTasks) setAll(status spawner.TaskStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tasks {
		if t.Status != spawner.TaskStopped {
			t.Status = status
		}
	}
}

// endOnOwn stops a task as if its container exited.
func (f *fakeTasks) endOnOwn(arn, reason string, exit int32) {
	f.set(arn, func(t *spawner.Task) {
		t.Status = spawner.TaskStopped
		t.StopWanted = true
		t.StopCode = "EssentialContainerExited"
		t.StoppedReason = reason
		t.ExitCode = &exit
	})
}

func (f *fakeTasks) get(arn string) (spawner.Task, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[arn]
	if !ok {
		return spawner.Task{}, false
	}
	return cloneTask(*t), true
}

func (f *fakeTasks) ipOf(arn string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ips[arn]
}

// running returns the ARNs of the tasks not stopped.
func (f *fakeTasks) running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, a := range f.order {
		if f.tasks[a].Status != spawner.TaskStopped {
			out = append(out, a)
		}
	}
	return out
}

// all returns the ARNs of every task ever known, in order.
func (f *fakeTasks) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

func (f *fakeTasks) runSpecs() []spawner.TaskSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.runs)
}

func (f *fakeTasks) stopped() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.stops)
}

func (f *fakeTasks) describes() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.descs)
}

func (f *fakeTasks) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func (f *fakeTasks) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, a := range f.order {
		t := f.tasks[a]
		fmt.Fprintf(&b, "  %s %s stopWanted=%v startedBy=%q reason=%q tags=%v\n", spawner.TaskID(a), t.Status, t.StopWanted, t.StartedBy, t.StoppedReason, t.Tags)
	}
	return b.String()
}

func taskIDs(arns []string) []string {
	out := make([]string, len(arns))
	for i, a := range arns {
		out[i] = spawner.TaskID(a)
	}
	return out
}

// fakeStore is the table in memory, keyed by Server.Key().
type fakeStore struct {
	switches
	j *journal

	mu       sync.Mutex
	items    map[string]spawner.Server
	problems []error
	puts     []spawner.Server
	deletes  []string
	// cooldowns are the members' cooldown records ("cooldown/<member>"),
	// by member; coolProblems the malformed ones LoadAll reports besides.
	cooldowns    map[string]time.Time
	coolProblems []error
	// games, when set, holds the templates LoadAll reads (withGames).
	games *fakeGames
}

func newFakeStore(j *journal) *fakeStore {
	return &fakeStore{j: j, items: make(map[string]spawner.Server), cooldowns: make(map[string]time.Time)}
}

func (s *fakeStore) PutCooldown(ctx context.Context, member string, since time.Time) error {
	s.j.add("store.PutCooldown %s since=%s", member, since.Format(time.TimeOnly))
	if err := s.call(ctx, "PutCooldown"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cooldowns[member] = since
	return nil
}

func (s *fakeStore) DeleteCooldown(ctx context.Context, member string) error {
	s.j.add("store.DeleteCooldown %s", member)
	if err := s.call(ctx, "DeleteCooldown"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cooldowns, member)
	return nil
}

// cooldownOf returns member's cooldown record, as stored.
func (s *fakeStore) cooldownOf(member string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	since, ok := s.cooldowns[member]
	return since, ok
}

// LoadAll reads the servers, the cooldowns and the templates of the
// world's fakeGames, with the problems set for the test.
func (s *fakeStore) LoadAll(ctx context.Context) (spawner.Snapshot, error) {
	s.j.add("store.LoadAll")
	if err := s.call(ctx, "LoadAll"); err != nil {
		return spawner.Snapshot{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.Sorted(maps.Keys(s.items))
	out := spawner.Snapshot{
		Servers:   make([]spawner.Server, 0, len(keys)),
		Cooldowns: maps.Clone(s.cooldowns),
		Problems:  append(slices.Clone(s.problems), s.coolProblems...),
	}
	for _, k := range keys {
		out.Servers = append(out.Servers, s.items[k])
	}
	if s.games != nil {
		out.Games = s.games.stored()
	}
	return out, nil
}

func (s *fakeStore) Put(ctx context.Context, srv spawner.Server) error {
	s.j.add("store.Put %s state=%s", shortKey(srv.Key()), srv.State)
	if err := s.call(ctx, "Put"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[srv.Key()] = srv
	s.puts = append(s.puts, srv)
	return nil
}

// Delete removes an item; one not there is not an error, as with DynamoDB.
func (s *fakeStore) Delete(ctx context.Context, key string) error {
	s.j.add("store.Delete %s", shortKey(key))
	if err := s.call(ctx, "Delete"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, key)
	s.deletes = append(s.deletes, key)
	return nil
}

// put stores a record directly, as if written before the test.
func (s *fakeStore) put(srv spawner.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[srv.Key()] = srv
}

func (s *fakeStore) get(key string) (spawner.Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.items[key]
	return srv, ok
}

func (s *fakeStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.items))
}

func (s *fakeStore) putsOf() []spawner.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.puts)
}

func (s *fakeStore) deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deletes)
}

func (s *fakeStore) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s.items)) {
		srv := s.items[k]
		fmt.Fprintf(&b, "  %s state=%q owner=%s channel=%s addr=%s\n", shortKey(k), srv.State, srv.Owner, srv.ChannelID, srv.HostPort())
	}
	return b.String()
}

func shortKey(k string) string {
	if strings.HasPrefix(k, spawner.PendingKeyPrefix) {
		return k
	}
	return spawner.TaskID(k)
}

// fakePinger answers Server List Pings from a table of player counts by address.
type fakePinger struct {
	switches
	j *journal

	mu      sync.Mutex
	players map[string]int // by "ip:port"; absent: no answer
	every   *int           // when set, the answer of every address
	calls   []string
	protos  []spawner.Protocol
}

func newFakePinger(j *journal) *fakePinger {
	return &fakePinger{j: j, players: make(map[string]int)}
}

var errNoAnswer = errors.New("dial tcp: connect: connection refused")

func (p *fakePinger) Ping(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error) {
	p.j.add("ping %s", addr)
	err := p.enter("Ping")
	if ctx.Err() != nil {
		return spawner.Ping{}, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, addr)
	p.protos = append(p.protos, proto)
	if err != nil {
		return spawner.Ping{}, err
	}
	n, ok := p.players[addr]
	if p.every != nil {
		n, ok = *p.every, true
	}
	if !ok {
		return spawner.Ping{}, errNoAnswer
	}
	return spawner.Ping{Online: n, Max: 20, Version: "1.20.1", Latency: 12 * time.Millisecond}, nil
}

// answer makes every address answer with n players online.
func (p *fakePinger) answer(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.every = &n
}

// answerAt makes addr answer with n players online.
func (p *fakePinger) answerAt(addr string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.players[addr] = n
}

// silence makes every address stop answering.
func (p *fakePinger) silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.every = nil
	clear(p.players)
}

func (p *fakePinger) pings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.calls)
}

// fakeChat is the guild: ticket channels with their messages, and the log channel.
type fakeChat struct {
	switches
	j *journal

	mu      sync.Mutex
	n       int
	chans   map[string]*fakeChannel
	order   []string
	logs    []spawner.Message
	deletes []string
	lost    []string // see loseAnswer
}

type fakeChannel struct {
	spawner.Channel
	owner   string
	deleted bool
	msgs    []*fakeMessage
}

type fakeMessage struct {
	id       string
	key      string
	content  string
	mentions []string
	edits    []string // every content it was edited to, in order
}

func newFakeChat(j *journal) *fakeChat {
	return &fakeChat{j: j, chans: make(map[string]*fakeChannel)}
}

func (c *fakeChat) CreateTicket(ctx context.Context, t spawner.Ticket) (string, error) {
	c.j.add("chat.CreateTicket %s", t.Name)
	if err := c.call(ctx, "CreateTicket"); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	id := fmt.Sprintf("1300000000000%06d", c.n)
	c.chans[id] = &fakeChannel{Channel: spawner.Channel{ID: id, Name: t.Name, Topic: t.Topic}, owner: t.Owner}
	c.order = append(c.order, id)
	return id, nil
}

// Send posts m, once per Key as the real adapter: a message whose Key is
// already in the channel is not posted again, its id is returned. Discord
// forgets a key after a few minutes; the fake never does, so two messages
// that share a key show in any test.
func (c *fakeChat) Send(ctx context.Context, channelID string, m spawner.Message) (string, error) {
	c.j.add("chat.Send %s %.40q", channelID, m.Content)
	if err := c.call(ctx, "Send"); err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.chans[channelID]
	if !ok || ch.deleted {
		return "", fmt.Errorf("send message: channel %s: %w", channelID, spawner.ErrNotFound)
	}
	var msg *fakeMessage
	for _, old := range ch.msgs {
		if m.Key != "" && old.key == m.Key {
			msg = old
		}
	}
	if msg == nil {
		c.n++
		msg = &fakeMessage{id: fmt.Sprintf("1400000000000%06d", c.n), key: m.Key, content: m.Content, mentions: slices.Clone(m.Mentions)}
		ch.msgs = append(ch.msgs, msg)
	}
	for i, part := range c.lost {
		if strings.Contains(m.Content, part) {
			c.lost = slices.Delete(c.lost, i, i+1)
			return "", fmt.Errorf("send message: answer lost: %w", errBoom)
		}
	}
	return msg.id, nil
}

// loseAnswer makes the next n Sends of a message containing part post it
// (or find it posted, by its Key) and then fail, as Discord answering 500
// after it carried out the create.
func (c *fakeChat) loseAnswer(part string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		c.lost = append(c.lost, part)
	}
}

func (c *fakeChat) Edit(ctx context.Context, channelID, messageID string, m spawner.Message) error {
	c.j.add("chat.Edit %s", channelID)
	if err := c.call(ctx, "Edit"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.chans[channelID]
	if !ok || ch.deleted {
		return fmt.Errorf("edit message: channel %s: %w", channelID, spawner.ErrNotFound)
	}
	for _, msg := range ch.msgs {
		if msg.id == messageID {
			msg.content = m.Content
			msg.edits = append(msg.edits, m.Content)
			return nil
		}
	}
	return fmt.Errorf("edit message %s: %w", messageID, spawner.ErrNotFound)
}

// DeleteChannel deletes a channel; one already gone is not an error, as with the real adapter.
func (c *fakeChat) DeleteChannel(ctx context.Context, channelID string) error {
	c.j.add("chat.DeleteChannel %s", channelID)
	if err := c.call(ctx, "DeleteChannel"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletes = append(c.deletes, channelID)
	if ch, ok := c.chans[channelID]; ok {
		ch.deleted = true
	}
	return nil
}

func (c *fakeChat) CategoryChannels(ctx context.Context) ([]spawner.Channel, error) {
	c.j.add("chat.CategoryChannels")
	if err := c.call(ctx, "CategoryChannels"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []spawner.Channel
	for _, id := range c.order {
		if ch := c.chans[id]; !ch.deleted {
			out = append(out, ch.Channel)
		}
	}
	return out, nil
}

func (c *fakeChat) Log(ctx context.Context, m spawner.Message) error {
	c.j.add("chat.Log %.60q", m.Content)
	if err := c.call(ctx, "Log"); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, old := range c.logs {
		if m.Key != "" && old.Key == m.Key {
			return nil // posted once per Key, as Send
		}
	}
	c.logs = append(c.logs, m)
	return nil
}

// addChannel puts a channel under the category, as if made before the
// test, with one message (the status message) whose id it returns.
func (c *fakeChat) addChannel(id, topic, owner string) (statusID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	statusID = fmt.Sprintf("1400000000000%06d", c.n)
	c.chans[id] = &fakeChannel{
		Channel: spawner.Channel{ID: id, Name: "minecraft-" + id[len(id)-4:], Topic: topic},
		owner:   owner,
		msgs:    []*fakeMessage{{id: statusID, content: "(status before the restart)"}},
	}
	c.order = append(c.order, id)
	return statusID
}

// channel returns a copy of a channel's state.
func (c *fakeChat) channel(id string) (fakeChannel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.chans[id]
	if !ok {
		return fakeChannel{}, false
	}
	cp := *ch
	cp.msgs = make([]*fakeMessage, len(ch.msgs))
	for i, m := range ch.msgs {
		mc := *m
		mc.mentions = slices.Clone(m.mentions)
		mc.edits = slices.Clone(m.edits)
		cp.msgs[i] = &mc
	}
	return cp, true
}

// channels returns the ids of every channel ever made or added, in order.
func (c *fakeChat) channels() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order)
}

// messages returns the current messages of a channel (the status message first).
func (c *fakeChat) messages(id string) []fakeMessage {
	ch, _ := c.channel(id)
	out := make([]fakeMessage, len(ch.msgs))
	for i, m := range ch.msgs {
		out[i] = *m
	}
	return out
}

// find returns the messages of channel id containing every one of parts.
func (c *fakeChat) find(id string, parts ...string) []fakeMessage {
	var out []fakeMessage
	for _, m := range c.messages(id) {
		if containsAll(m.content, parts...) {
			out = append(out, m)
		}
	}
	return out
}

func (c *fakeChat) isDeleted(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.chans[id]
	return ok && ch.deleted
}

func (c *fakeChat) deletedChannels() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.deletes)
}

// logLines returns what was said in the log channel.
func (c *fakeChat) logLines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.logs))
	for i, m := range c.logs {
		out[i] = m.Content
	}
	return out
}

// logsWith returns the log lines containing every one of parts.
func (c *fakeChat) logsWith(parts ...string) []string {
	var out []string
	for _, l := range c.logLines() {
		if containsAll(l, parts...) {
			out = append(out, l)
		}
	}
	return out
}

func (c *fakeChat) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, id := range c.order {
		ch := c.chans[id]
		fmt.Fprintf(&b, "  #%s %q topic=%q owner=%s deleted=%v\n", id, ch.Name, ch.Topic, ch.owner, ch.deleted)
		for _, m := range ch.msgs {
			fmt.Fprintf(&b, "    [%s] mentions=%v (%d edits)\n      %s\n", m.id, m.mentions, len(m.edits), indent(m.content, "      "))
		}
	}
	b.WriteString("  log channel:\n")
	for _, m := range c.logs {
		fmt.Fprintf(&b, "    %s\n", m.Content)
	}
	return b.String()
}

func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// fakeMetrics counts what the Manager tells it.
type fakeMetrics struct {
	mu      sync.Mutex
	created map[string]int
	stopped map[spawner.StopCause]int
	warned  map[string]int
	pinged  int
}

func newFakeMetrics() *fakeMetrics {
	return &fakeMetrics{created: map[string]int{}, stopped: map[spawner.StopCause]int{}, warned: map[string]int{}}
}

func (f *fakeMetrics) Created(game string) { f.mu.Lock(); f.created[game]++; f.mu.Unlock() }
func (f *fakeMetrics) Stopped(c spawner.StopCause) {
	f.mu.Lock()
	f.stopped[c]++
	f.mu.Unlock()
}
func (f *fakeMetrics) Warned(kind string) { f.mu.Lock(); f.warned[kind]++; f.mu.Unlock() }
func (f *fakeMetrics) Pinged(time.Duration, error) {
	f.mu.Lock()
	f.pinged++
	f.mu.Unlock()
}

func (f *fakeMetrics) stoppedOf(c spawner.StopCause) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped[c]
}

func (f *fakeMetrics) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.stopped))
	for k, v := range f.stopped {
		keys = append(keys, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(keys)
	return fmt.Sprintf("  created=%v stopped=%v warned=%v pinged=%d\n", f.created, keys, f.warned, f.pinged)
}
