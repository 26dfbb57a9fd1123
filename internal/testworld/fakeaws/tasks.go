package fakeaws

import (
	"fmt"
	"maps"
	"time"
)

// Task is the fake's record of one task: what ECS would say of it and
// everything it was started with.
type Task struct {
	ARN               string
	ID                string // last segment of the ARN
	ClusterARN        string
	TaskDefinitionARN string
	Family            string
	LastStatus        string
	DesiredStatus     string
	StartedBy         string
	ClientToken       string
	Group             string
	CapacityProvider  string // "" when started with a launch type
	LaunchType        string
	Subnets           []string
	SecurityGroups    []string
	AssignPublicIP    string // ENABLED or DISABLED
	StoppedReason     string
	StopCode          string
	ExitCode          *int32 // of the first container, once it exited
	// Containers are the task's containers, in the task definition's
	// order, with how each exited.
	Containers []Container
	ENI        string // network interface id, attached from PENDING until STOPPED
	PrivateIP  string // 127.1.x.y
	PublicIP   string // 127.2.x.y, or "" when assignPublicIp is DISABLED
	Tags       map[string]string
	CreatedAt  time.Time
	StartedAt  time.Time // zero until RUNNING
	StoppedAt  time.Time // zero until STOPPED
	// External is true for a task put in by StartExternalTask.
	External bool
	// Input is the RunTask request that started the task; nil when External.
	// It is shared: do not modify it.
	Input *RunTaskInput
}

// Container is one container of a task, as DescribeTasks tells it.
type Container struct {
	Name     string
	ExitCode *int32 // once it exited; nil when it never ran
	Reason   string
}

// Container returns the task's container name; ok is false when it has
// none of that name.
func (t Task) Container(name string) (c Container, ok bool) {
	for _, c := range t.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return Container{}, false
}

// Environment is the environment override given to container at RunTask,
// or nil when there was none.
func (t Task) Environment(container string) map[string]string {
	if t.Input == nil || t.Input.Overrides == nil {
		return nil
	}
	for _, o := range t.Input.Overrides.ContainerOverrides {
		if o.Name == container {
			env := make(map[string]string, len(o.Environment))
			for _, kv := range o.Environment {
				env[kv.Name] = kv.Value
			}
			return env
		}
	}
	return nil
}

// task is the fake's mutable state of one task, guarded by Server.mu.
type task struct {
	Task
	n          int // creation number: addresses and ENI id derive from it
	containers []container
	overrides  *TaskOverride
	version    int64
	pullAt     time.Time
	stoppingAt time.Time
	failStart  string // when set, the task stops instead of reaching RUNNING
	held       bool   // by Hold
	holdAt     string // status the task stays in, by HoldNext
	announced  bool   // OnRunning was called for it
	runAt      time.Time
	timer      *time.Timer
	gen        int // bumped at each (re)schedule, so a stale timer does nothing
}

type container struct {
	name       string
	arn        string
	image      string
	health     bool // has a health check
	exitCode   *int32
	reason     string
	stopExit   *int32 // by ExitAtStop: its exit code at the next stop, instead of 0
	stopReason string
}

// snapshot is a copy of the public record that shares nothing mutable.
func (t *task) snapshot() Task {
	c := t.Task
	c.Subnets = append([]string(nil), t.Subnets...)
	c.SecurityGroups = append([]string(nil), t.SecurityGroups...)
	c.Tags = maps.Clone(t.Tags)
	if t.ExitCode != nil {
		v := *t.ExitCode
		c.ExitCode = &v
	}
	c.Containers = make([]Container, len(t.containers))
	for i, tc := range t.containers {
		c.Containers[i] = Container{Name: tc.name, Reason: tc.reason}
		if tc.exitCode != nil {
			v := *tc.exitCode
			c.Containers[i].ExitCode = &v
		}
	}
	return c
}

func (t *task) stopTimer() {
	t.gen++
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// Tasks lists every task the fake knows, in the order they were created,
// stopped ones included.
func (s *Server) Tasks() []Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Task, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = t.snapshot()
	}
	return out
}

// Task returns the task whose ARN or id is arn.
func (s *Server) Task(arn string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(arn)
	if t == nil {
		return Task{}, false
	}
	return t.snapshot(), true
}

func (s *Server) lookupLocked(ref string) *task {
	if t, ok := s.byARN[ref]; ok {
		return t
	}
	return s.byID[ref]
}

// mustTaskLocked returns the task named ref, or reports a test error.
func (s *Server) mustTaskLocked(ref, caller string) *task {
	t := s.lookupLocked(ref)
	if t == nil {
		s.tb.Errorf("fakeaws: %s: no task %q", caller, ref)
	}
	return t
}

// Hold keeps the task in its current status until Release (Advance still
// moves it). Holding a task just after RunTask races with its timers: use
// HoldNext or Options.HoldIn to catch a task in a given status.
func (s *Server) Hold(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.mustTaskLocked(arn, "Hold"); t != nil {
		t.held = true
		t.stopTimer()
	}
}

// Release lets a task held by Hold or HoldNext go on; its current step
// starts over. A task held by Options.HoldIn stays until SetHoldIn.
func (s *Server) Release(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.mustTaskLocked(arn, "Release"); t != nil {
		t.held = false
		t.holdAt = ""
		s.scheduleLocked(t)
	}
}

// HoldNext makes the next n tasks started by RunTask stay in status
// ("PROVISIONING", "PENDING" or "STOPPING") once they reach it, until
// Release or Advance.
func (s *Server) HoldNext(n int, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.holdNext = append(s.holdNext, status)
	}
}

// SetHoldIn changes Options.HoldIn for every task from now on: tasks in
// status hold there, and tasks held by the previous value go on. An empty
// status holds nothing.
func (s *Server) SetHoldIn(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdIn = status
	for _, t := range s.tasks {
		if t.LastStatus != "STOPPED" && !t.held {
			s.scheduleLocked(t)
		}
	}
}

// Advance moves the task one step at once (PROVISIONING → PENDING →
// RUNNING, or STOPPING → STOPPED), held or not, and returns its new status.
// A RUNNING or STOPPED task stays where it is. Like the timers, it calls
// OnRunning before the task is seen RUNNING.
func (s *Server) Advance(arn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTaskLocked(arn, "Advance")
	if t == nil {
		return ""
	}
	t.stopTimer()
	s.announceLocked(t)
	s.stepLocked(t)
	s.scheduleLocked(t)
	return t.LastStatus
}

// Crash makes the task's game container exit with exitCode: the task stops
// on its own with stopCode EssentialContainerExited and stoppedReason
// reason. Crashing a stopped task is a test error.
func (s *Server) Crash(arn, reason string, exitCode int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTaskLocked(arn, "Crash")
	if t == nil {
		return
	}
	if t.DesiredStatus == "STOPPED" {
		s.tb.Errorf("fakeaws: Crash: task %s is already stopping", arn)
		return
	}
	if len(t.containers) > 0 {
		t.containers[0].exitCode = &exitCode
		t.containers[0].reason = reason
	}
	t.ExitCode = &exitCode
	s.beginStopLocked(t, "EssentialContainerExited", reason)
}

// ExternalTask describes a task that some other process started in the
// cluster (StartExternalTask).
type ExternalTask struct {
	Family     string            // default "external"; need not be registered
	Containers []string          // default the family's containers, or ["main"]
	StartedBy  string            // e.g. spawner.StartedBy for an orphan
	Tags       map[string]string // as given, no managed tags added
	LastStatus string            // where it starts: PROVISIONING, PENDING or RUNNING (default)
	CreatedAt  time.Time         // default Options.Now()
	Group      string            // default "family:<Family>"
	NoPublicIP bool              // started with assignPublicIp DISABLED
}

// StartExternalTask puts a task in the cluster as if another process had
// run it, and returns it. It then moves on like any other task. When it
// starts RUNNING, OnRunning is called before StartExternalTask returns.
func (s *Server) StartExternalTask(e ExternalTask) Task {
	s.mu.Lock()
	if e.Family == "" {
		e.Family = "external"
	}
	if e.Containers == nil {
		e.Containers = s.opts.TaskDefinitionFamilies[e.Family]
		if len(e.Containers) == 0 {
			e.Containers = []string{"main"}
		}
	}
	if e.LastStatus == "" {
		e.LastStatus = "RUNNING"
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.opts.Now()
	}
	if e.Group == "" {
		e.Group = "family:" + e.Family
	}
	public := "ENABLED"
	if e.NoPublicIP {
		public = "DISABLED"
	}
	t := s.newTaskLocked(e.Family, e.Containers, public)
	t.External = true
	t.StartedBy = e.StartedBy
	t.Tags = maps.Clone(e.Tags)
	t.Group = e.Group
	t.CreatedAt = e.CreatedAt
	t.LaunchType = "FARGATE"
	t.CapacityProvider = "FARGATE"
	t.Subnets = []string{"subnet-external"}
	t.SecurityGroups = []string{"sg-external"}
	var hook *Task
	switch e.LastStatus {
	case "PROVISIONING":
	case "PENDING":
		s.stepLocked(t)
	case "RUNNING":
		s.stepLocked(t)
		s.stepLocked(t)
		if s.opts.OnRunning != nil {
			t.announced = true
			snap := t.snapshot()
			hook = &snap
		}
	default:
		s.tb.Errorf("fakeaws: StartExternalTask: cannot start in status %q", e.LastStatus)
	}
	s.scheduleLocked(t)
	snap := t.snapshot()
	s.mu.Unlock()
	s.runHook(hook)
	return snap
}

// newTaskLocked creates a task in PROVISIONING with its addresses, and
// indexes it. The caller fills in how it was started.
func (s *Server) newTaskLocked(family string, containers []string, assignPublicIP string) *task {
	s.seq++
	n := s.seq
	id := fmt.Sprintf("%032x", uint64(0x5a11)<<48|uint64(n))
	t := &task{n: n}
	t.ID = id
	t.ARN = fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", s.opts.Region, s.opts.Account, s.opts.ClusterName, id)
	t.ClusterARN = s.ClusterARN()
	t.Family = family
	t.TaskDefinitionARN = s.TaskDefinitionARN(family)
	t.LastStatus = "PROVISIONING"
	t.DesiredStatus = "RUNNING"
	t.AssignPublicIP = assignPublicIP
	// x.y counts up from 0.1, skipping the .0 and .255 host parts.
	x, y := (n-1)/254, (n-1)%254+1
	if x > 255 {
		s.tb.Errorf("fakeaws: more than %d tasks: out of loopback addresses", 256*254)
	}
	t.ENI = fmt.Sprintf("eni-%017x", n)
	t.PrivateIP = fmt.Sprintf("127.1.%d.%d", x, y)
	if assignPublicIP == "ENABLED" && !s.opts.NoPublicIPs {
		t.PublicIP = fmt.Sprintf("127.2.%d.%d", x, y)
	}
	for i, name := range containers {
		def := s.containerDefinition(family, name)
		t.containers = append(t.containers, container{
			name:   name,
			arn:    fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%08x-0000-4000-8000-%012x", s.opts.Region, s.opts.Account, s.opts.ClusterName, id, i, n),
			image:  def.Image,
			health: def.HealthCheck != nil,
		})
	}
	t.version = 1
	s.tasks = append(s.tasks, t)
	s.byARN[t.ARN] = t
	s.byID[id] = t
	return t
}

// stepLocked moves t one step along its life.
func (s *Server) stepLocked(t *task) {
	now := s.opts.Now()
	t.version++
	switch {
	case t.DesiredStatus == "STOPPED":
		if t.LastStatus != "STOPPED" {
			t.LastStatus = "STOPPED"
			t.StoppedAt = now
			delete(s.enis, t.ENI)
		}
	case t.LastStatus == "PROVISIONING":
		t.LastStatus = "PENDING"
		t.pullAt = now
		s.enis[t.ENI] = t
	case t.LastStatus == "PENDING":
		if t.failStart != "" {
			s.beginStopLocked(t, "TaskFailedToStart", t.failStart)
			return
		}
		t.LastStatus = "RUNNING"
		t.StartedAt = now
		if !t.runAt.IsZero() {
			t.StartedAt = t.runAt
		}
	}
}

// announceLocked calls OnRunning for t before it is seen RUNNING, when its
// next step is to RUNNING and it was not announced yet, so that whatever the
// hook starts (a game server answering pings) is there when a client learns
// the task runs. It releases s.mu during the call and reports whether t was
// left alone meanwhile (no other step, stop, hold or Close).
func (s *Server) announceLocked(t *task) bool {
	if s.opts.OnRunning == nil || t.announced || t.LastStatus != "PENDING" || t.DesiredStatus != "RUNNING" || t.failStart != "" {
		return true
	}
	t.announced = true
	t.runAt = s.opts.Now()
	snap := t.snapshot()
	snap.LastStatus = "RUNNING"
	snap.StartedAt = t.runAt
	gen := t.gen
	s.hooks.Add(1)
	s.mu.Unlock()
	s.opts.OnRunning(snap)
	s.hooks.Done()
	// Lock again before reading t.gen: a deferred Lock would run after
	// the return value was read, racing stopTimer.
	s.mu.Lock()
	return t.gen == gen
}

// beginStopLocked sets the task on its way to STOPPED.
func (s *Server) beginStopLocked(t *task, code, reason string) {
	now := s.opts.Now()
	if t.LastStatus == "RUNNING" {
		// The containers still running are stopped cleanly, or as
		// ExitAtStop said.
		for i := range t.containers {
			c := &t.containers[i]
			if c.exitCode != nil {
				continue
			}
			code := int32(0)
			if c.stopExit != nil {
				code, c.reason = *c.stopExit, c.stopReason
			}
			c.exitCode = &code
		}
		if t.ExitCode == nil && len(t.containers) > 0 {
			code := *t.containers[0].exitCode
			t.ExitCode = &code
		}
	}
	t.DesiredStatus = "STOPPED"
	t.LastStatus = "STOPPING"
	t.StopCode = code
	t.StoppedReason = reason
	t.stoppingAt = now
	t.version++
	s.scheduleLocked(t)
}

// scheduleLocked arms the timer of t's next step, unless it is held, stopped
// or waiting for nothing.
func (s *Server) scheduleLocked(t *task) {
	s.publishLocked(t) // events.go
	t.stopTimer()
	if s.closed || t.held || t.LastStatus == "STOPPED" || t.LastStatus == s.holdIn || t.LastStatus == t.holdAt {
		return
	}
	var d time.Duration
	switch t.LastStatus {
	case "PROVISIONING":
		d = s.opts.ProvisioningDelay
	case "PENDING":
		d = s.opts.PendingDelay
	case "STOPPING":
		d = s.opts.StoppingDelay
	default:
		return
	}
	switch {
	case d == 0:
		d = DefaultStepDelay
	case d < 0:
		d = 0
	}
	gen := t.gen
	t.timer = time.AfterFunc(d, func() { s.fire(t, gen) })
}

// fire is a task's timer: one step, then the next timer.
func (s *Server) fire(t *task, gen int) {
	s.mu.Lock()
	if s.closed || t.gen != gen {
		s.mu.Unlock()
		return
	}
	t.timer = nil
	if !s.announceLocked(t) || s.closed {
		s.mu.Unlock()
		return
	}
	s.stepLocked(t)
	s.scheduleLocked(t)
	s.mu.Unlock()
}

// runHook calls OnRunning with t, unless nil or the server is closed. It must
// be called without s.mu held.
func (s *Server) runHook(t *Task) {
	if t == nil || s.opts.OnRunning == nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.hooks.Add(1)
	s.mu.Unlock()
	defer s.hooks.Done()
	s.opts.OnRunning(*t)
}
