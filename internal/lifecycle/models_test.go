package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// record is a list a model keeps of what it was asked, safe for
// concurrent use.
type record[T any] struct {
	mu    sync.Mutex
	items []T
}

func (r *record[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, v)
}

func (r *record[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.items)
}

func (r *record[T]) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

// The models behind the function-field fakes of a test's world
// (world_test.go): small, in memory, with no behaviour but what the real
// systems promise (a message posted once per Key, a delete of something
// gone that is no error).

// cluster is the runtime: the tasks RunTask started or a test added, which
// the test moves through their statuses.
type cluster struct {
	clock *fakeClock

	mu    sync.Mutex
	tasks map[string]*spawner.Task
	order []string
	ips   map[string]string // task id → its public address
	// ports maps a task's game ports to the ports players reach them on
	// (by task id; "" for every task), as a runtime that publishes them
	// on its host's ports; a port not mapped is reached as itself.
	ports map[string]map[int]int
	start spawner.TaskStatus

	// The calls: RunTask's specs, StopTask's tasks, DescribeTasks' lists.
	runs  record[spawner.TaskSpec]
	stops record[string]
	descs record[[]string]
	lists atomic.Int32
}

func cloneTask(t spawner.Task) spawner.Task {
	t.Tags = maps.Clone(t.Tags)
	return t
}

// RunTask starts a task in the status set by startIn (provisioning).
func (c *cluster) RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
	if ctx.Err() != nil {
		return spawner.Task{}, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	spec.Env, spec.Tags = maps.Clone(spec.Env), maps.Clone(spec.Tags)
	c.runs.add(spec)
	t := spawner.Task{
		ID:        fmt.Sprintf("arn:aws:ecs:eu-west-3:111122223333:task/games/%032x", 0xa1b2c3d4000+c.runs.len()),
		Status:    cmp.Or(c.start, spawner.TaskProvisioning),
		StartedBy: spawner.StartedBy,
		Tags:      spec.Tags,
		CreatedAt: c.clock.Now(),
	}
	c.addLocked(t)
	return cloneTask(t), nil
}

func (c *cluster) addLocked(t spawner.Task) {
	if _, ok := c.tasks[t.ID]; !ok {
		c.order = append(c.order, t.ID)
		c.ips[t.ID] = fmt.Sprintf("203.0.113.%d", len(c.order))
	}
	t = cloneTask(t)
	c.tasks[t.ID] = &t
}

// DescribeTasks answers with the tasks it knows of ids.
func (c *cluster) DescribeTasks(ctx context.Context, ids []string) ([]spawner.Task, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.descs.add(slices.Clone(ids))
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []spawner.Task
	for _, a := range ids {
		if t, ok := c.tasks[a]; ok {
			out = append(out, cloneTask(*t))
		}
	}
	return out, nil
}

// StopTask stops a task; one unknown or stopped is not an error, as with
// the real adapters.
func (c *cluster) StopTask(ctx context.Context, id, reason string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.stops.add(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.tasks[id]; ok && t.Status != spawner.TaskStopped {
		t.Status, t.StopWanted, t.StoppedReason = spawner.TaskStopped, true, reason
	}
	return nil
}

// ListOwnedTasks lists, as ECS ListTasks(startedBy) with its default
// desired status RUNNING, the tasks the bot started and did not stop.
func (c *cluster) ListOwnedTasks(ctx context.Context) ([]spawner.Task, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	c.lists.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []spawner.Task
	for _, a := range c.order {
		if t := c.tasks[a]; t.StartedBy == spawner.StartedBy && !t.StopWanted {
			out = append(out, cloneTask(*t))
		}
	}
	return out, nil
}

// Address is where players reach the task's game port port: its public
// address, and the port the runtime published it on (mapPorts).
func (c *cluster) Address(ctx context.Context, t spawner.Task, port int) (string, error) {
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ip, ok := c.ips[t.ID]
	if !ok {
		return "", fmt.Errorf("no address for %s: %w", t.ID, spawner.ErrNotFound)
	}
	for _, m := range []map[int]int{c.ports[t.ID], c.ports[""]} {
		if p, ok := m[port]; ok {
			port = p
			break
		}
	}
	return net.JoinHostPort(ip, strconv.Itoa(port)), nil
}

// mapPorts publishes the game ports of task id ("": of every task) on
// other ports, as a container runtime does on its host.
func (c *cluster) mapPorts(id string, ports map[int]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ports == nil {
		c.ports = make(map[string]map[int]int)
	}
	c.ports[id] = ports
}

// startIn makes the tasks RunTask starts from now on start in status.
func (c *cluster) startIn(status spawner.TaskStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start = status
}

func (c *cluster) add(t spawner.Task) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(t)
}

// set changes a task as the runtime would.
func (c *cluster) set(id string, change func(t *spawner.Task)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	change(c.tasks[id])
}

// setAll sets the status of every task not stopped.
func (c *cluster) setAll(status spawner.TaskStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.tasks {
		if t.Status != spawner.TaskStopped {
			t.Status = status
		}
	}
}

// endOnOwn stops a task as if its container exited.
func (c *cluster) endOnOwn(id, reason string, exit int32) {
	c.set(id, func(t *spawner.Task) {
		t.Status, t.StopWanted, t.StoppedReason, t.ExitCode = spawner.TaskStopped, true, reason, &exit
	})
}

func (c *cluster) get(id string) spawner.Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneTask(*c.tasks[id])
}

func (c *cluster) ipOf(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ips[id]
}

// running returns the tasks not stopped; all, every task ever known.
func (c *cluster) running() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.order {
		if c.tasks[a].Status != spawner.TaskStopped {
			out = append(out, a)
		}
	}
	return out
}

func (c *cluster) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order)
}

func (c *cluster) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, a := range c.order {
		t := c.tasks[a]
		fmt.Fprintf(&b, "  %s %s stopWanted=%v reason=%q tags=%v\n", spawner.ShortTaskID(a), t.Status, t.StopWanted, t.StoppedReason, t.Tags)
	}
	return b.String()
}

// table is the table of servers and cooldowns.
type table struct {
	mu        sync.Mutex
	items     map[string]spawner.Server
	problems  []error // the records LoadAll could not read, servers' and cooldowns'
	cooldowns map[string]time.Time

	puts    record[spawner.Server] // every record put
	deletes record[string]         // every key deleted
}

// LoadAll reads the servers and the cooldowns, with the problems set for
// the test (withGames adds the templates).
func (s *table) LoadAll(ctx context.Context) (spawner.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := spawner.Snapshot{Cooldowns: maps.Clone(s.cooldowns), Problems: slices.Clone(s.problems)}
	for _, k := range slices.Sorted(maps.Keys(s.items)) {
		out.Servers = append(out.Servers, s.items[k])
	}
	return out, ctx.Err()
}

func (s *table) Put(ctx context.Context, srv spawner.Server) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.puts.add(srv)
	// Kept as a store keeps it: what its record reads back.
	rec, err := srv.Record()
	if err != nil {
		return fmt.Errorf("put %w", err)
	}
	if srv, err = rec.Server(srv.Key()); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[srv.Key()] = srv
	return nil
}

// Delete removes an item; one absent is not an error, as with DynamoDB.
func (s *table) Delete(ctx context.Context, key string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.deletes.add(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.items, key)
	return nil
}

func (s *table) PutCooldown(_ context.Context, member string, since time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cooldowns[member] = since
	return nil
}

func (s *table) DeleteCooldown(_ context.Context, member string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cooldowns, member)
	return nil
}

// put stores a record as if written before the test.
func (s *table) put(srv spawner.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[srv.Key()] = srv
}

func (s *table) get(key string) (spawner.Server, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.items[key]
	return srv, ok
}

func (s *table) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.items))
}

func (s *table) cooldownOf(member string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	since, ok := s.cooldowns[member]
	return since, ok
}

func (s *table) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(s.items)) {
		srv := s.items[k]
		fmt.Fprintf(&b, "  %s state=%q owner=%s channel=%s addr=%s\n", k, srv.State, srv.Owner, srv.ChannelID, srv.HostPort())
	}
	return b.String()
}

// guild is the ticket category and the log channel. Every message keeps
// its Key, and is posted once per Key, as Discord's nonce makes it.
type guild struct {
	mu      sync.Mutex
	n       int
	tickets map[string]*ticket
	order   []string
	logs    []spawner.Message
	deletes record[string] // every channel deleted
}

type ticket struct {
	spawner.Channel
	owner   string
	deleted bool
	posts   []*post
}

// post is one message: its Key, whom it mentions, and what it said (its
// content and its footer), for the dumps and for a test that checks text
// chose the sentence it wants.
type post struct {
	id, key  string
	mentions []string
	content  string
	footer   string
	edits    []string // every content it was edited to
	wake     string   // the world its Wake button wakes
	locale   string
}

func (g *guild) CreateTicket(_ context.Context, t spawner.Ticket) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	id := fmt.Sprintf("1300000000000%06d", g.n)
	g.tickets[id] = &ticket{Channel: spawner.Channel{ID: id, Name: t.Name, Topic: t.Topic}, owner: t.Owner}
	g.order = append(g.order, id)
	return id, nil
}

func (g *guild) Send(_ context.Context, channelID string, m spawner.Message) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tickets[channelID]
	if !ok || t.deleted {
		return "", fmt.Errorf("send message: channel %s: %w", channelID, spawner.ErrNotFound)
	}
	for _, p := range t.posts {
		if m.Key != "" && p.key == m.Key {
			return p.id, nil
		}
	}
	g.n++
	p := &post{id: fmt.Sprintf("1400000000000%06d", g.n), key: m.Key, mentions: slices.Clone(m.Mentions), content: m.Content, footer: m.Footer,
		wake: m.Wake, locale: m.Locale}
	t.posts = append(t.posts, p)
	return p.id, nil
}

func (g *guild) Edit(_ context.Context, channelID, messageID string, m spawner.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.tickets[channelID]; ok && !t.deleted {
		for _, p := range t.posts {
			if p.id == messageID {
				p.content, p.footer = m.Content, m.Footer
				p.edits = append(p.edits, m.Content)
				return nil
			}
		}
	}
	return fmt.Errorf("edit message %s: %w", messageID, spawner.ErrNotFound)
}

// DeleteChannel deletes a channel; one gone is not an error.
func (g *guild) DeleteChannel(_ context.Context, channelID string) error {
	g.deletes.add(channelID)
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.tickets[channelID]; ok {
		t.deleted = true
	}
	return nil
}

func (g *guild) CategoryChannels(context.Context) ([]spawner.Channel, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []spawner.Channel
	for _, id := range g.order {
		if t := g.tickets[id]; !t.deleted {
			out = append(out, t.Channel)
		}
	}
	return out, nil
}

// Log says m in the log channel, once per Key.
func (g *guild) Log(_ context.Context, m spawner.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, old := range g.logs {
		if m.Key != "" && old.Key == m.Key {
			return nil
		}
	}
	g.logs = append(g.logs, m)
	return nil
}

// addChannel puts a ticket channel under the category as if made before
// the test, with its status message, whose id it returns.
func (g *guild) addChannel(id, topic, owner string) (statusID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	statusID = fmt.Sprintf("1400000000000%06d", g.n)
	g.tickets[id] = &ticket{Channel: spawner.Channel{ID: id, Topic: topic}, owner: owner, posts: []*post{{id: statusID}}}
	g.order = append(g.order, id)
	return statusID
}

// ticketOf returns a copy of a channel.
func (g *guild) ticketOf(id string) (ticket, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tickets[id]
	if !ok {
		return ticket{}, false
	}
	c := *t
	c.posts = nil
	for _, p := range t.posts {
		cp := *p
		cp.mentions, cp.edits = slices.Clone(p.mentions), slices.Clone(p.edits)
		c.posts = append(c.posts, &cp)
	}
	return c, true
}

// posts returns the messages of a channel, the status message first.
func (g *guild) posts(id string) []post {
	t, _ := g.ticketOf(id)
	out := make([]post, len(t.posts))
	for i, p := range t.posts {
		out[i] = *p
	}
	return out
}

// said returns the message of channel id whose Key is key.
func (g *guild) said(id, key string) (post, bool) {
	for _, p := range g.posts(id) {
		if p.key == key {
			return p, true
		}
	}
	return post{}, false
}

// purposes returns the purpose of every message of channel id after the
// first n (the part of its Key after the server's id, which an ARN's
// slashes may be part of), in order.
func (g *guild) purposes(id string, n int) []string {
	posts := g.posts(id)
	var out []string
	for _, p := range posts[min(n, len(posts)):] {
		out = append(out, p.key[strings.LastIndex(p.key, "/")+1:])
	}
	return out
}

func (g *guild) channels() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.order)
}

func (g *guild) isDeleted(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tickets[id]
	return ok && t.deleted
}

// logged returns the log channel's messages whose Key starts with prefix.
func (g *guild) logged(prefix string) []spawner.Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []spawner.Message
	for _, m := range g.logs {
		if strings.HasPrefix(m.Key, prefix) {
			out = append(out, m)
		}
	}
	return out
}

func (g *guild) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var b strings.Builder
	for _, id := range g.order {
		t := g.tickets[id]
		fmt.Fprintf(&b, "  #%s topic=%q owner=%s deleted=%v\n", id, t.Topic, t.owner, t.deleted)
		for _, p := range t.posts {
			fmt.Fprintf(&b, "    [%s] mentions=%v (%d edits)\n      %s\n", p.key, p.mentions, len(p.edits), strings.ReplaceAll(p.content, "\n", "\n      "))
		}
	}
	b.WriteString("  log channel:\n")
	for _, m := range g.logs {
		fmt.Fprintf(&b, "    [%s] %s\n", m.Key, m.Content)
	}
	return b.String()
}

// players is what the games answer to probes, by address.
type players struct {
	mu    sync.Mutex
	at    map[string]int // absent: no answer
	every *int           // when set, every address's answer
	pings record[ping]   // every probe
	// version, protocol and maximum are what every status answers with;
	// a maximum of 0 answers 20, a vanilla server's.
	version  string
	protocol int
	maximum  int
}

// ping is one probe: its protocol and address.
type ping struct {
	proto spawner.Protocol
	addr  string
}

var errNoAnswer = errors.New("dial tcp: connect: connection refused")

func (p *players) Ping(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error) {
	if ctx.Err() != nil {
		return spawner.Ping{}, ctx.Err()
	}
	p.pings.add(ping{proto, addr})
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.at[addr]
	if p.every != nil {
		n, ok = *p.every, true
	}
	if !ok {
		return spawner.Ping{}, errNoAnswer
	}
	maximum := p.maximum
	if maximum == 0 {
		maximum = 20
	}
	return spawner.Ping{Online: n, Max: maximum, Version: p.version, Protocol: p.protocol, Latency: 12 * time.Millisecond}, nil
}

// answer makes every address answer with n players online; answerAt,
// addr alone; silence, none.
func (p *players) answer(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.every = &n
}

func (p *players) answerAt(addr string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at[addr] = n
}

// speak makes every status answer with version and protocol.
func (p *players) speak(version string, protocol, maximum int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.version, p.protocol, p.maximum = version, protocol, maximum
}

func (p *players) silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.every = nil
	clear(p.at)
}

// pinged returns the addresses probed, in order.
func (p *players) pinged() []string {
	var out []string
	for _, q := range p.pings.all() {
		out = append(out, q.addr)
	}
	return out
}

// counts is the metrics.
type counts struct {
	mu      sync.Mutex
	stopped map[spawner.StopCause]int
	warned  map[string]int
	created int
}

func (c *counts) Created(string)              { c.mu.Lock(); c.created++; c.mu.Unlock() }
func (c *counts) Stopped(s spawner.StopCause) { c.mu.Lock(); c.stopped[s]++; c.mu.Unlock() }
func (c *counts) Warned(kind string)          { c.mu.Lock(); c.warned[kind]++; c.mu.Unlock() }
func (c *counts) Pinged(time.Duration, error) {}

func (c *counts) stoppedOf(cause spawner.StopCause) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped[cause]
}

func (c *counts) warnedOf(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.warned[kind]
}

// events is what the feed published.
type events struct {
	mu  sync.Mutex
	evs []spawner.Event
}

func (e *events) Publish(ev spawner.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) all() []spawner.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.evs)
}

// endOf is the cause the feed was told server id ended with, if it was.
func (e *events) endOf(id string) (spawner.StopCause, bool) {
	for _, ev := range e.all() {
		if ev.Type == spawner.EventEnded && ev.Server == id {
			return ev.Cause, true
		}
	}
	return "", false
}
