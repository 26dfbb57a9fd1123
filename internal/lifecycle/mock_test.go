package lifecycle

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/mineral-contest/spawner/internal/lifecycle/admission"
	"github.com/mineral-contest/spawner/internal/lifecycle/worlds"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// Function-field fakes of what the Manager talks to, in the manner of
// wtf's mock package: each method calls its field. newWorld points the
// fields at the small models of world_test.go; a test replaces one to
// fail it, hold it or watch it, before the call it means to change.

type mockTasks struct {
	RunTaskFn        func(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error)
	DescribeTasksFn  func(ctx context.Context, ids []string) ([]spawner.Task, error)
	StopTaskFn       func(ctx context.Context, id, reason string) error
	ListOwnedTasksFn func(ctx context.Context) ([]spawner.Task, error)
	AddressFn        func(ctx context.Context, t spawner.Task, port int) (string, error)
}

var _ Tasks = (*mockTasks)(nil)

func (m *mockTasks) RunTask(ctx context.Context, spec spawner.TaskSpec) (spawner.Task, error) {
	return m.RunTaskFn(ctx, spec)
}
func (m *mockTasks) DescribeTasks(ctx context.Context, ids []string) ([]spawner.Task, error) {
	return m.DescribeTasksFn(ctx, ids)
}
func (m *mockTasks) StopTask(ctx context.Context, id, reason string) error {
	return m.StopTaskFn(ctx, id, reason)
}
func (m *mockTasks) ListOwnedTasks(ctx context.Context) ([]spawner.Task, error) {
	return m.ListOwnedTasksFn(ctx)
}
func (m *mockTasks) Address(ctx context.Context, t spawner.Task, port int) (string, error) {
	return m.AddressFn(ctx, t, port)
}

// mockPrivateTasks is a runtime that reaches private ports at an address
// of its own (as the Docker runtime does).
type mockPrivateTasks struct {
	*mockTasks
	PrivateAddressFn func(ctx context.Context, t spawner.Task, port int) (string, error)
}

var _ PrivateAddresser = (*mockPrivateTasks)(nil)

func (m *mockPrivateTasks) PrivateAddress(ctx context.Context, t spawner.Task, port int) (string, error) {
	return m.PrivateAddressFn(ctx, t, port)
}

type mockStore struct {
	LoadAllFn        func(ctx context.Context) (spawner.Snapshot, error)
	PutFn            func(ctx context.Context, s spawner.Server) error
	DeleteFn         func(ctx context.Context, key string) error
	PutCooldownFn    func(ctx context.Context, member string, since time.Time) error
	DeleteCooldownFn func(ctx context.Context, member string) error
}

var (
	_ Store               = (*mockStore)(nil)
	_ admission.Cooldowns = (*mockStore)(nil)
)

func (m *mockStore) LoadAll(ctx context.Context) (spawner.Snapshot, error) {
	return m.LoadAllFn(ctx)
}
func (m *mockStore) Put(ctx context.Context, s spawner.Server) error { return m.PutFn(ctx, s) }
func (m *mockStore) Delete(ctx context.Context, key string) error    { return m.DeleteFn(ctx, key) }
func (m *mockStore) PutCooldown(ctx context.Context, member string, since time.Time) error {
	return m.PutCooldownFn(ctx, member, since)
}
func (m *mockStore) DeleteCooldown(ctx context.Context, member string) error {
	return m.DeleteCooldownFn(ctx, member)
}

type mockSessions struct {
	PutSessionFn func(ctx context.Context, s spawner.Session) error
	SessionsFn   func(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error)
}

var _ Sessions = (*mockSessions)(nil)

func (m *mockSessions) PutSession(ctx context.Context, s spawner.Session) error {
	return m.PutSessionFn(ctx, s)
}
func (m *mockSessions) Sessions(ctx context.Context, from, to time.Time) ([]spawner.Session, []error, error) {
	return m.SessionsFn(ctx, from, to)
}

type mockPinger struct {
	PingFn func(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error)
}

var _ Pinger = (*mockPinger)(nil)

func (m *mockPinger) Ping(ctx context.Context, proto spawner.Protocol, addr string) (spawner.Ping, error) {
	return m.PingFn(ctx, proto, addr)
}

type mockChat struct {
	CreateTicketFn     func(ctx context.Context, t spawner.Ticket) (string, error)
	SendFn             func(ctx context.Context, channelID string, m spawner.Message) (string, error)
	EditFn             func(ctx context.Context, channelID, messageID string, m spawner.Message) error
	DeleteChannelFn    func(ctx context.Context, channelID string) error
	CategoryChannelsFn func(ctx context.Context) ([]spawner.Channel, error)
	LogFn              func(ctx context.Context, m spawner.Message) error
}

var _ Chat = (*mockChat)(nil)

func (m *mockChat) CreateTicket(ctx context.Context, t spawner.Ticket) (string, error) {
	return m.CreateTicketFn(ctx, t)
}
func (m *mockChat) Send(ctx context.Context, channelID string, msg spawner.Message) (string, error) {
	return m.SendFn(ctx, channelID, msg)
}
func (m *mockChat) Edit(ctx context.Context, channelID, messageID string, msg spawner.Message) error {
	return m.EditFn(ctx, channelID, messageID, msg)
}
func (m *mockChat) DeleteChannel(ctx context.Context, channelID string) error {
	return m.DeleteChannelFn(ctx, channelID)
}
func (m *mockChat) CategoryChannels(ctx context.Context) ([]spawner.Channel, error) {
	return m.CategoryChannelsFn(ctx)
}
func (m *mockChat) Log(ctx context.Context, msg spawner.Message) error { return m.LogFn(ctx, msg) }

type mockGames struct {
	PutGameFn    func(ctx context.Context, name string, doc []byte) error
	DeleteGameFn func(ctx context.Context, name string) error
}

func (m *mockGames) PutGame(ctx context.Context, name string, doc []byte) error {
	return m.PutGameFn(ctx, name, doc)
}
func (m *mockGames) DeleteGame(ctx context.Context, name string) error {
	return m.DeleteGameFn(ctx, name)
}

type mockChecker struct {
	CheckGameFn func(ctx context.Context, g spawner.Game) error
}

func (m *mockChecker) CheckGame(ctx context.Context, g spawner.Game) error {
	return m.CheckGameFn(ctx, g)
}

type mockRCON struct {
	RunFn func(ctx context.Context, addr, password, command string) (string, error)
}

var _ RCON = (*mockRCON)(nil)

func (m *mockRCON) Run(ctx context.Context, addr, password, command string) (string, error) {
	return m.RunFn(ctx, addr, password, command)
}

type mockLinks struct {
	ServerFn func(srv spawner.Server, g spawner.Game) string
}

func (m *mockLinks) Server(srv spawner.Server, g spawner.Game) string { return m.ServerFn(srv, g) }

// failing is true for the first n calls, then false, from any goroutine:
// a fake's function fails while it is.
func failing(n int) func() bool { return failingAfter(0, n) }

// failingAfter is false for the first skip calls, true for the n after.
func failingAfter(skip, n int) func() bool {
	var calls atomic.Int64
	return func() bool {
		c := calls.Add(1)
		return c > int64(skip) && c <= int64(skip+n)
	}
}

type mockWorldStore struct {
	PutWorldFn    func(ctx context.Context, w spawner.World) error
	DeleteWorldFn func(ctx context.Context, id string) error
}

var _ worlds.Store = (*mockWorldStore)(nil)

func (m *mockWorldStore) PutWorld(ctx context.Context, w spawner.World) error {
	return m.PutWorldFn(ctx, w)
}
func (m *mockWorldStore) DeleteWorld(ctx context.Context, id string) error {
	return m.DeleteWorldFn(ctx, id)
}

type mockContent struct {
	NewStorageFn    func(ctx context.Context, worldID string) (string, error)
	BackupFn        func(ctx context.Context, w spawner.World, why spawner.BackupReason) (spawner.Backup, error)
	SavedFn         func(ctx context.Context, w spawner.World, since time.Time) (spawner.Backup, error)
	BackupsFn       func(ctx context.Context, worldID string) ([]spawner.Backup, error)
	RestoreFn       func(ctx context.Context, w spawner.World, backupID, spare string) (string, error)
	DeleteStorageFn func(ctx context.Context, storage string) error
	DeleteBackupsFn func(ctx context.Context, worldID string) error
	LinkFn          func(ctx context.Context, worldID, backupID string) (string, time.Time, error)
	PruneStorageFn  func(ctx context.Context, keep map[string]bool) ([]string, error)
}

var _ worlds.Content = (*mockContent)(nil)

func (m *mockContent) NewStorage(ctx context.Context, worldID string) (string, error) {
	return m.NewStorageFn(ctx, worldID)
}
func (m *mockContent) Backup(ctx context.Context, w spawner.World, why spawner.BackupReason) (spawner.Backup, error) {
	return m.BackupFn(ctx, w, why)
}
func (m *mockContent) Saved(ctx context.Context, w spawner.World, since time.Time) (spawner.Backup, error) {
	return m.SavedFn(ctx, w, since)
}
func (m *mockContent) Backups(ctx context.Context, worldID string) ([]spawner.Backup, error) {
	return m.BackupsFn(ctx, worldID)
}
func (m *mockContent) Restore(ctx context.Context, w spawner.World, backupID, spare string) (string, error) {
	return m.RestoreFn(ctx, w, backupID, spare)
}
func (m *mockContent) DeleteStorage(ctx context.Context, storage string) error {
	return m.DeleteStorageFn(ctx, storage)
}
func (m *mockContent) DeleteBackups(ctx context.Context, worldID string) error {
	return m.DeleteBackupsFn(ctx, worldID)
}
func (m *mockContent) Link(ctx context.Context, worldID, backupID string) (string, time.Time, error) {
	return m.LinkFn(ctx, worldID, backupID)
}
func (m *mockContent) PruneStorage(ctx context.Context, keep map[string]bool) ([]string, error) {
	return m.PruneStorageFn(ctx, keep)
}
