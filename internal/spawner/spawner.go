// Package spawner holds the domain of the bot: the game servers it runs for
// the members of one community, the games they can ask for, what is said
// to them, and the errors the rest of the code branches on. It imports no
// outside system and names none: every adapter and the lifecycle speak in
// these types, and each adapter maps them to its system's own.
package spawner

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"
)

// StartedBy marks every task this bot runs (the runtime's own "started
// by" field, or a label). Reconciliation lists the runtime's tasks by it,
// so a task carrying it and no record in the table is one of ours that was
// orphaned.
const StartedBy = "spawner"

// Tag keys put on every task, so a task can be tied back to the creation that
// started it even when the record was never written.
const (
	TagCreation = "spawner:creation"
	TagOwner    = "spawner:owner"
	TagChannel  = "spawner:channel"
	TagGame     = "spawner:game"
	TagVariant  = "spawner:variant"
	// TagDeployment names the deployment (one bot, one table) that started
	// the task or container; a bot acts only on its own, or on untagged ones.
	TagDeployment = "spawner:deployment"
)

// GameKeyPrefix starts the table key of a stored game template: "game/<name>".
const GameKeyPrefix = "game/"

// CooldownKeyPrefix starts the table key of a member's creation cooldown:
// "cooldown/<member id>".
const CooldownKeyPrefix = "cooldown/"

// State is where a server is in its life. The constants are listed in the
// order a server goes through them, which Rank gives (life.go).
type State string

// The states, in the order a server goes through them.
const (
	StateRequested    State = "requested"    // channel made, task not asked for yet
	StateProvisioning State = "provisioning" // the runtime accepted the task
	StatePending      State = "pending"      // the image is being pulled, the container started
	StateRunning      State = "running"      // task RUNNING, address known
	StateBooting      State = "booting"      // waiting for the first ping answer
	StateReady        State = "ready"        // answered a ping; watchdogs on
	StateStopping     State = "stopping"
	StateStopped      State = "stopped"
)

// Known reports whether s is one of the states above; a stored record
// with any other state is malformed (Record.Server).
func (s State) Known() bool { return s.Rank() >= 0 }

// Server is one game server a member asked for: the row of the table and the
// entry of the in-memory mirror.
//
// Before the runtime has started its task, a Server has no TaskID and is
// stored under its CreationID (see Key); that record is what lets a
// restart know a creation was under way and never start a second task
// for it.
type Server struct {
	TaskID          string // the runtime's id of its task (taskId in the table); empty until started
	CreationID      string // also the token that makes starting its task idempotent, and a task tag
	Game            string
	Variant         string // typeServer in the table
	Owner           string // the member's id (userId)
	ChannelID       string // the private ticket channel
	StatusMessageID string // the message in the ticket channel edited at each step
	Address         string // IP the players connect to (publicIpAddress)
	Port            int
	Token           string // admin token given to the game, shown to the owner only
	Locale          string // locale of the member who asked ("fr", "en-US"), for messages
	State           State
	CreatedAt       time.Time // creationDate; the watchdogs count from it
	RunningAt       time.Time
	ReadyAt         time.Time
	// Warnings is how many player-count warnings were posted since the last
	// check that found enough players; RuntimeWarned whether the owner was
	// warned of the maximum duration. Both are saved, so a restart neither
	// forgets a warning nor repeats one.
	Warnings      int
	RuntimeWarned bool
	// StopsAt is when the runtime watchdog stops the server; zero means
	// CreatedAt plus the game's MaxDuration. /server extend moves it.
	StopsAt    time.Time
	Extensions int // /server extend calls so far
	// RCONPassword is the password generated for the game's RCON; never
	// shown, logged or sent in an event.
	RCONPassword string
	// GameTemplate is the template of the game the server was created
	// from, so a restart keeps its rules even if the template changed.
	GameTemplate []byte
	// Players is what the last probe saw, kept in the record so a restart
	// shows it; -1 for a game whose protocol does not count players.
	Players int
	// WorldID is the id of the world the server plays, for a game with a
	// world; empty otherwise.
	WorldID string
	// WokenBy is who woke that world, when the server's creation is a
	// wake; the zero value otherwise.
	WokenBy WokenBy
}

// PendingKeyPrefix starts the table key of a creation whose task is not known yet.
const PendingKeyPrefix = "creation/"

// Key is the table's partition key for the server: its task id, or, before
// the task was started, PendingKeyPrefix followed by the creation id.
func (s Server) Key() string {
	if s.TaskID != "" {
		return s.TaskID
	}
	return PendingKeyPrefix + s.CreationID
}

// ShortTaskID is the short form of the server's task id (see the
// function ShortTaskID): what members pick in /server stop and read in
// the log channel.
func (s Server) ShortTaskID() string { return ShortTaskID(s.TaskID) }

// ShortTaskID returns the last '/'-separated segment of a task id
// ("…/games/abc" → "abc"). A runtime whose ids are paths keeps the last
// segment unique among its tasks, so it names the task as well as the
// whole id does, in fewer characters.
func ShortTaskID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// HostPort is the address players type in Minecraft: "ip:port", or "" while unknown.
func (s Server) HostPort() string {
	if s.Address == "" {
		return ""
	}
	return net.JoinHostPort(s.Address, strconv.Itoa(s.Port))
}

// Game is a kind of server members can ask for, and everything needed to run
// one. The default game is built from the configuration; more can be added
// without touching the lifecycle.
type Game struct {
	Name           string // option value, e.g. "minecraft"
	Title          string // shown to users, e.g. "Minecraft"
	TaskDefinition string // the task definition a runtime of task definitions runs (the template's taskDefinition)
	Container      string // the game's container in it (the template's container)
	Port           int    // game port, pinged with Server List Ping
	Version        string // shown to users
	Env            map[string]string
	// TokenEnv is the container variable that receives the admin token
	// generated for each server; empty when the game has no admin token.
	TokenEnv string
	// AdminCommand is shown to the owner in the ready message with "{token}"
	// replaced by the token; empty to show the bare token.
	AdminCommand   string
	Variants       []Variant
	DefaultVariant string

	MinPlayers         int           // fewer players than this is "too few"
	WarningCount       int           // warnings before the stop
	CheckInterval      time.Duration // time between two player-count checks
	MaxDuration        time.Duration // lifetime before the stop
	MaxDurationWarning time.Duration // how long before MaxDuration the owner is warned
	ReadyTimeout       time.Duration // RUNNING to first ping answer, or the server failed
	ExtendDuration     time.Duration // what one /server extend adds

	// Protocol says how readiness and players are checked; empty means
	// ProtocolMinecraft.
	Protocol Protocol
	// QueryPort is the A2S query port (ProtocolA2S); 0 means Port+1 (see
	// ProbePort).
	QueryPort int
	// Ports are every port the game listens on, the game port first; empty
	// means Port over TCP. A runtime that publishes ports publishes each.
	Ports []PortSpec
	// RCON, when set, is how the bot runs commands in game (/server op).
	RCON *RCON
	// Image is the container image, for a runtime that runs images.
	Image string
	// CPU (in vCPU units of 1024) and Memory (MiB) size a server: limits
	// of its container, or overrides of its task definition's; 0 keeps the
	// runtime's default.
	CPU    int
	Memory int
	// CapacityProvider is the capacity the game's servers run on, instead
	// of the runtime's configured one (the template's capacityProvider).
	CapacityProvider string
	// Template is the game's template as it was uploaded, empty for the
	// game built from the variables.
	Template []byte
	// World, when set, is what the game keeps from one server to the next
	// (the template's world): each server of the game plays a world.
	World *WorldSpec
}

// Protocol is how a game server is asked whether it is up and who plays.
type Protocol string

// The protocols, each with how it asks.
const (
	ProtocolMinecraft Protocol = "minecraft" // Server List Ping
	ProtocolA2S       Protocol = "a2s"       // Steam A2S_INFO over UDP
	ProtocolTCP       Protocol = "tcp"       // up when the port accepts; players unknown
)

// CountsPlayers reports whether the protocol tells how many play, so the
// player watchdog applies.
func (p Protocol) CountsPlayers() bool { return p != ProtocolTCP }

// PortSpec is one port a game listens on.
type PortSpec struct {
	Port  int
	Proto string // "tcp" or "udp"
}

// RCON is a game's Minecraft RCON endpoint: the port, and the container
// variable that receives the password generated for each server.
type RCON struct {
	Port        int
	PasswordEnv string
}

// Variant is a flavour of a game with its own container environment
// ("official" and "non_official" for the default Minecraft game).
type Variant struct {
	Name string
	Env  map[string]string
}

// Variant returns the variant named name (in any case), or the default one
// when name is empty.
func (g Game) Variant(name string) (Variant, bool) {
	if name == "" {
		name = g.DefaultVariant
	}
	for _, v := range g.Variants {
		if strings.EqualFold(v.Name, name) {
			return v, true
		}
	}
	return Variant{}, false
}

// ProbeProtocol is the protocol g's servers are probed with: g.Protocol,
// or minecraft when the game names none.
func (g Game) ProbeProtocol() Protocol {
	if g.Protocol == "" {
		return ProtocolMinecraft
	}
	return g.Protocol
}

// ProbePort is the port g's servers answer their probe on: for an a2s
// game its QueryPort, Port+1 when unset; else its Port.
func (g Game) ProbePort() int {
	if g.Protocol != ProtocolA2S {
		return g.Port
	}
	if g.QueryPort != 0 {
		return g.QueryPort
	}
	return g.Port + 1
}

// Environment is the container environment for a server of variant v: the
// game's, then the variant's, then the token.
func (g Game) Environment(v Variant, token string) map[string]string {
	env := make(map[string]string, len(g.Env)+len(v.Env)+1)
	for k, val := range g.Env {
		env[k] = val
	}
	for k, val := range v.Env {
		env[k] = val
	}
	if g.TokenEnv != "" {
		env[g.TokenEnv] = token
	}
	return env
}

// Catalog is the set of games offered, the first being the default.
type Catalog []Game

// Lookup returns the game named name (in any case), or the default game when
// name is empty.
func (c Catalog) Lookup(name string) (Game, bool) {
	if len(c) == 0 {
		return Game{}, false
	}
	if name == "" {
		return c[0], true
	}
	for _, g := range c {
		if strings.EqualFold(g.Name, name) {
			return g, true
		}
	}
	return Game{}, false
}

// TaskSpec is what the lifecycle asks the task runtime to run. Where and
// how tasks run (the cluster, the network, the capacity) is the runtime's
// configuration, not the game's.
type TaskSpec struct {
	CreationID     string // idempotency token: a retried call never starts two tasks
	TaskDefinition string
	Container      string
	Env            map[string]string
	Tags           map[string]string
	// CapacityProvider, when set, replaces the runtime's configured
	// capacity for this task (the game's own).
	CapacityProvider string
	ContainerSpec    // image, ports and size
}

// Task is what the task runtime says of a task.
type Task struct {
	ID     string     // the runtime's id of the task
	Status TaskStatus // where the task is in its life; zero: not known
	// StopWanted is true once the task was asked to stop, even while it
	// still runs.
	StopWanted bool
	// Reclaimed is true when the provider is taking the task's capacity
	// back (spot capacity): the task stops within minutes whatever the
	// bot does.
	Reclaimed     bool
	StartedBy     string
	StoppedReason string // the runtime's words for why it stopped, for people
	ExitCode      *int32 // of the game container, when it exited
	Tags          map[string]string
	CreatedAt     time.Time
	// CPU (in units of 1/1024 vCPU) and Memory (MiB) are the task's size
	// as the runtime says it ran; 0 when it does not say.
	CPU    int
	Memory int
	// WorldSaveFailed is true when the task's companion that fills the
	// world's path and saves it (ECS) exited with a failure, its pull or
	// its push: no new backup of the world came of the task.
	WorldSaveFailed bool
}

// TaskStatus is where a task is in its life, in the runtime's own order.
// The zero value is a status the runtime did not say (or one it has no
// word for); the lifecycle treats it as "not known yet".
type TaskStatus int

// The statuses a runtime tells, in its order.
const (
	TaskProvisioning TaskStatus = iota + 1 // capacity and network being set up
	TaskPending                            // image being pulled, container starting
	TaskRunning                            // the container runs
	TaskStopping                           // on its way down
	TaskStopped                            // gone
)

func (s TaskStatus) String() string {
	switch s {
	case TaskProvisioning:
		return "provisioning"
	case TaskPending:
		return "pending"
	case TaskRunning:
		return "running"
	case TaskStopping:
		return "stopping"
	case TaskStopped:
		return "stopped"
	}
	return "unknown"
}

// Stopped reports whether the task has stopped or is on its way to.
func (t Task) Stopped() bool {
	return t.Status == TaskStopping || t.Status == TaskStopped || t.StopWanted
}

// Ping is a Server List Ping answer.
type Ping struct {
	Online  int
	Max     int
	Version string
	// Protocol is the protocol number of the status's version (Minecraft);
	// 0 when the game told none.
	Protocol int
	Latency  time.Duration
}

// Ticket is a private ticket channel to create under the category.
type Ticket struct {
	Name  string
	Topic string
	Owner string // user id allowed to see it besides the admin role
}

// Channel is a channel found under the category.
type Channel struct {
	ID    string
	Name  string
	Topic string
}

// ErrNotFound is returned by adapters when the thing asked for does not
// exist; deleting or stopping something not found is not an error.
var ErrNotFound = errors.New("not found")

// RunFailure is the runtime refusing to run a task, with its reason (no
// capacity, a bad network setting, a missing task definition, no free
// port).
type RunFailure struct {
	Reason string
	Detail string
}

func (f *RunFailure) Error() string {
	if f.Detail != "" {
		return "run task: " + f.Reason + ": " + f.Detail
	}
	return "run task: " + f.Reason
}

// Refusal is a request the bot declines for a reason the member should
// read; nothing was started or changed. Adapters render it in the member's
// language (see package text).
type Refusal struct {
	Code  RefusalCode
	Limit int       // the cap, for RefusedCap
	Name  string    // the unknown game or variant, for RefusedUnknown*
	Until time.Time // when the member may try again, for RefusedCooldown
}

// RefusalCode says why a request was refused.
type RefusalCode int

// Refusal codes of creating and stopping a server, and those any request
// may get; each says why.
const (
	RefusedNoRole         RefusalCode = iota + 1 // member holds neither the user nor the admin role
	RefusedElsewhere                             // not from the community's own server (another one, or a private conversation)
	RefusedBusy                                  // member already has a server or a creation under way
	RefusedCap                                   // GAMESERVER_MAX_SERVERS reached
	RefusedUnknownGame                           // no such game
	RefusedUnknownVariant                        // no such variant for the game
	RefusedNoServer                              // stop: no such server (stale or forged option)
	RefusedNotOwner                              // stop: the server is someone else's
	RefusedStopping                              // stop: already being stopped
	RefusedShuttingDown                          // the bot is shutting down; try again in a moment
	RefusedCategoryFull                          // the ticket category (or the community) has no room for a channel
	RefusedCooldown                              // the member created a server too recently; see Until
	RefusedNotMember                             // the member is no longer in the community's server (left, kicked, or their account deleted)
)

func (r *Refusal) Error() string {
	switch r.Code {
	case RefusedNoRole:
		return "refused: missing role"
	case RefusedElsewhere:
		return "refused: not from the community's server"
	case RefusedBusy:
		return "refused: member already has a server"
	case RefusedCap:
		return "refused: server cap reached"
	case RefusedUnknownGame:
		return "refused: unknown game " + strconv.Quote(r.Name)
	case RefusedUnknownVariant:
		return "refused: unknown variant " + strconv.Quote(r.Name)
	case RefusedNoServer:
		return "refused: no such server"
	case RefusedNotOwner:
		return "refused: not the owner"
	case RefusedStopping:
		return "refused: already stopping"
	case RefusedShuttingDown:
		return "refused: shutting down"
	case RefusedCategoryFull:
		return "refused: ticket category full"
	case RefusedCooldown:
		return "refused: cooldown until " + r.Until.UTC().Format(time.RFC3339)
	case RefusedNotMember:
		return "refused: no longer a member of the community's server"
	default:
		return r.controlError()
	}
}

// Actor is who asked for something: a member, or the bot itself.
type Actor struct {
	UserID string
	Admin  bool
}

// StopCause says why a server stopped; it is told to the owner and the log
// channel and counted in metrics.
type StopCause string

// The causes of a stop, each with what ended the server.
const (
	CauseCommand    StopCause = "command"     // /server stop
	CauseRuntime    StopCause = "max_runtime" // GAMESERVER_MAX_DURATION reached
	CausePlayers    StopCause = "players"     // too few players after the last warning
	CauseFailed     StopCause = "failed"      // creation failed (the runtime, the chat or the table)
	CauseNotReady   StopCause = "not_ready"   // no ping answer before the ready timeout
	CauseTaskEnded  StopCause = "task_ended"  // the task stopped on its own
	CauseOrphan     StopCause = "orphan"      // an owned task with no record
	CauseRecordGone StopCause = "task_gone"   // a record whose task is gone
	CauseRestart    StopCause = "interrupted" // a creation interrupted by a restart before its task existed
)

// CreateRequest is a member's /server create.
type CreateRequest struct {
	Owner   string
	Admin   bool // exempt from the one-server-per-member rule
	Locale  string
	Game    string // empty: the default game
	Variant string // empty: the game's default variant
	// World names the member's world to play, for a game with a world:
	// checked with ValidWorldName; empty lets the rules choose.
	World string
	// Answer, when set, is how the member who asked learns what became of
	// their creation once it was accepted.
	Answer Answer
}

// Answer is the private answer of the member who asked for something
// whose work goes on after it was accepted (a creation). The adapter the
// request came through owns it: it decides when the member is first
// answered and how they read what follows.
type Answer interface {
	// Given returns a channel closed once the member has been told their
	// request was accepted; nil when they already were. The work waits
	// for it, so that first answer never queues behind the work.
	Given() <-chan struct{}
	// Update replaces what the member reads with m: where to follow their
	// server, or why its creation failed or was stopped. It is called
	// from the work's goroutine, after Given.
	Update(m Message)
}

// ErrCategoryFull is returned by the chat adapter when the chat refuses a
// ticket channel because the category holds as many channels as it may.
var ErrCategoryFull = errors.New("the ticket category is full")

// ErrCommunityFull is returned by the chat adapter when the chat refuses a
// channel because the community holds as many channels as it may.
var ErrCommunityFull = errors.New("the community has reached its channel limit")

// ErrNoPublicIP is returned by the task runtime's Address when a running
// task has no address players can reach and will not get one (a network
// that assigns none).
var ErrNoPublicIP = errors.New("running, but it has no public address")

// MissingPermission is an outside system refusing an action because the
// bot lacks a permission there. Need names the permissions the action
// requires, as that system's settings name them, so an admin knows what
// to grant and where.
type MissingPermission struct { //nolint:errname // named in the domain's words, like Refusal and Problem (docs/architecture.md, "Whose words"); discord makes it and lifecycle matches it by this name
	System string // the system that refused, as admins know it
	Action string // e.g. "send a message in channel 1300…"
	Need   string // e.g. "View Channel, Send Messages"
	Err    error  // the system's own answer
}

func (e *MissingPermission) Error() string {
	return "missing " + e.System + " permission to " + e.Action + " (needs " + e.Need + "): " + e.Err.Error()
}

func (e *MissingPermission) Unwrap() error { return e.Err }
