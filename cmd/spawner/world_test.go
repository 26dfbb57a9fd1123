package main

// The test world: every outside system of the daemon, on loopback, speaking
// the real protocols. The daemon under test is the real run function with
// only addresses changed.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mineral-contest/spawner/internal/dynamo"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/dynalite"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/mcserver"
	"github.com/mineral-contest/spawner/internal/testworld/syncbuf"
)

const (
	guildID    = fakediscord.DefaultGuildID
	userRole   = fakediscord.DefaultUserRoleID
	adminRole  = fakediscord.DefaultAdminRoleID
	categoryID = fakediscord.DefaultCategoryID
	logChannel = fakediscord.DefaultLogChannelID
	tableName  = "spawner-servers"
	family     = "minecraft-server"
	container  = "minecraft"
	waitLong   = 15 * time.Second
)

// world is one test's outside world.
type world struct {
	tb      testing.TB
	discord *fakediscord.Server
	aws     *fakeaws.Server
	dyn     *dynalite.Instance
	db      *dynalite.Proxy
	mc      *mcserver.Fleet
	env     map[string]string
	players atomic.Int32 // players online on servers as they start
	silent  atomic.Bool  // servers start without answering pings
	late    atomic.Bool  // servers do not start with their task: the test starts them (w.mc.Start)
}

type worldOptions struct {
	discord fakediscord.Options
	aws     fakeaws.Options
	env     map[string]string // overrides of the daemon's environment
	// onAWSOf, when set, puts this world's daemon on the fake ECS cluster
	// and game servers of another world: a second deployment on the same
	// cluster, with its own Discord guild and its own table.
	onAWSOf *world
}

func newWorld(tb testing.TB, o worldOptions) *world {
	tb.Helper()
	w := &world{tb: tb}
	w.players.Store(5)
	if o.onAWSOf != nil {
		w.mc, w.aws = o.onAWSOf.mc, o.onAWSOf.aws
	} else {
		w.newAWS(tb, o.aws)
	}
	w.dyn = dynalite.Start(tb)
	w.db = w.dyn.Proxy(tb)
	if o.discord.HeartbeatInterval == 0 {
		o.discord.HeartbeatInterval = 500 * time.Millisecond
	}
	w.discord = fakediscord.New(tb, o.discord)

	dir := tb.TempDir()
	w.env = w.discordEnv(tb, dir)
	maps.Copy(w.env, map[string]string{
		"AWS_REGION":                                       w.aws.Region(),
		"AWS_ACCESS_KEY_ID_FILE":                           writeSecret(tb, dir, "aws_access_key_id", fakeaws.AccessKeyID),
		"AWS_SECRET_ACCESS_KEY_FILE":                       writeSecret(tb, dir, "aws_secret_access_key", fakeaws.SecretAccessKey),
		"AWS_ENDPOINT_URL_ECS":                             w.aws.URL(),
		"AWS_ENDPOINT_URL_EC2":                             w.aws.URL(),
		"AWS_ENDPOINT_URL_DYNAMODB":                        w.db.Endpoint(),
		"AWS_ECS_CLUSTER_NAME":                             fakeaws.DefaultClusterName,
		"ECS_TASK_DEFINITION":                              family,
		"DOCKER_IMAGE_NAME":                                container,
		"ECS_SUBNETS":                                      "subnet-0a1b2c3d, subnet-4e5f6a7b",
		"ECS_SECURITY_GROUPS":                              "sg-0123abcd",
		"AWS_DYNAMODB_TABLE_NAME":                          tableName,
		"DYNAMODB_CREATE_TABLE":                            "true",
		"GAMESERVER_PORT":                                  fmt.Sprint(w.mc.Port()),
		"GAMESERVER_VERSION":                               "1.20.2",
		"GAMESERVER_MAX_DURATION":                          "1h",
		"GAMESERVER_MIN_REQUIRED_PLAYERS":                  "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT":    "2",
		"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "300ms",
		"GAMESERVER_READY_TIMEOUT":                         "10s",
		"GAMESERVER_POLL_INTERVAL":                         "20ms",
		"GAMESERVER_MAX_SERVERS":                           "10",
		"DISCORD_TICKET_CLOSE_DELAY":                       "200ms",
		"GAMESERVER_CREATE_COOLDOWN":                       "0", // e2e_refusals_test.go turns it on
		"LOG_LEVEL":                                        "debug",
	})
	overrideEnv(w.env, o.env)
	return w
}

// discordEnv writes the world's Discord token to a file in dir and returns
// the daemon's environment that points it at the world's fake Discord.
func (w *world) discordEnv(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	return map[string]string{
		"DISCORD_TOKEN_FILE":             writeSecret(tb, dir, "discord_token", w.discord.Options().Token+"\n"),
		"DISCORD_GUILD_ID":               guildID,
		"DISCORD_USER_ROLE_ID":           userRole,
		"DISCORD_ADMIN_ROLE_ID":          adminRole,
		"DISCORD_GAMESERVER_CATEGORY_ID": categoryID,
		"DISCORD_LOG_CHANNEL_ID":         logChannel,
		"DISCORD_API_URL":                w.discord.URL(),
	}
}

// writeSecret writes v to the file name in dir, readable by its owner
// only, and returns the file's path.
func writeSecret(tb testing.TB, dir, name, v string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// overrideEnv applies overrides to env: an empty value removes the
// variable, any other sets it.
func overrideEnv(env, overrides map[string]string) {
	for k, v := range overrides {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
}

// newAWS starts the world's fake ECS/EC2 and the game servers that come up
// on its tasks' addresses.
func (w *world) newAWS(tb testing.TB, o fakeaws.Options) {
	tb.Helper()
	w.mc = mcserver.NewFleet(tb, reservePort(tb))
	if o.TaskDefinitionFamilies == nil {
		o.TaskDefinitionFamilies = map[string][]string{family: {container}}
	}
	o.OnRunning = func(t fakeaws.Task) {
		ip := t.PublicIP
		if ip == "" {
			ip = t.PrivateIP
		}
		if w.late.Load() {
			return
		}
		if s := w.mc.Start(ip); s != nil {
			s.SetPlayers(int(w.players.Load()), 20)
			s.SetSilent(w.silent.Load())
		}
	}
	w.aws = fakeaws.New(tb, o)
}

func (w *world) getenv(k string) string { return w.env[k] }

// reservePort returns a port no other world of this process uses: it stays
// bound on 127.0.0.1 until the test ends, while the game servers of the
// world listen on it at their own 127.2.x.y addresses.
func reservePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("reserve a port: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// daemonHandle is a daemon running in the test's process.
type daemonHandle struct {
	w      *world
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	once   sync.Once
	err    error
}

// start runs the daemon and waits until it serves commands.
func (w *world) start(tb testing.TB) *daemonHandle {
	tb.Helper()
	d := w.startNoWait(tb)
	w.waitFor(tb, "the daemon to register its commands and connect", func() bool {
		return len(w.discord.CommandsIn(guildID)) > 0 && w.discord.Connected() && strings.Contains(d.logs.String(), "spawner started")
	}, d)
	return d
}

func (w *world) startNoWait(tb testing.TB) *daemonHandle {
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemonHandle{w: w, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	go func() { d.done <- run(ctx, []string{"run"}, w.getenv, d.logs, d.logs) }()
	tb.Cleanup(func() {
		if err := d.stop(tb); err != nil {
			tb.Errorf("the daemon's run returned %v at the test's end", err)
		}
		if tb.Failed() {
			tb.Logf("daemon logs:\n%s", d.logs.String())
		}
	})
	return d
}

// stop cancels the daemon (as SIGTERM does) and waits for run to return.
func (d *daemonHandle) stop(tb testing.TB) error {
	d.once.Do(func() {
		d.cancel()
		select {
		case d.err = <-d.done:
		case <-time.After(20 * time.Second):
			tb.Errorf("daemon did not return within 20s of its context ending")
		}
	})
	return d.err
}

// waitFor polls cond until it holds, failing with what it waited for, the
// fakes' records and the daemon's logs when it does not within waitLong.
func (w *world) waitFor(tb testing.TB, what string, cond func() bool, d *daemonHandle) {
	tb.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			logs := ""
			if d != nil {
				logs = d.logs.String()
			}
			tb.Fatalf("timed out after %s waiting for %s\n--- discord:\n%s\n--- tasks: %+v\n--- daemon logs:\n%s", waitLong, what, w.discord.Dump(), w.taskSummary(), logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *world) taskSummary() string {
	var b strings.Builder
	for _, t := range w.aws.Tasks() {
		fmt.Fprintf(&b, "\n  %s %s/%s startedBy=%s reason=%q", t.ID, t.LastStatus, t.DesiredStatus, t.StartedBy, t.StoppedReason)
	}
	return b.String()
}

// member is a guild member holding the user role.
func member(n int) fakediscord.User {
	return fakediscord.User{ID: fmt.Sprintf("13000000000000%05d", n), Roles: []string{userRole}}
}

func admin(n int) fakediscord.User {
	return fakediscord.User{ID: fmt.Sprintf("14000000000000%05d", n), Roles: []string{adminRole}}
}

// table reads the servers of the table as the daemon left it, failing on
// a malformed server item.
func (w *world) table(tb testing.TB) []spawner.Server {
	tb.Helper()
	stored, err := w.serverTable(tb).LoadAll(context.Background())
	if err != nil {
		tb.Fatalf("read table: %v", err)
	}
	for _, p := range stored.Problems {
		var re *spawner.RecordError
		if errors.As(p, &re) && re.Key != "" && !spawner.IsServerKey(re.Key) {
			continue // a cooldown's: no server's
		}
		tb.Fatalf("table has malformed server items: %v", stored.Problems)
	}
	return stored.Servers
}

// dynamo is the SDK's client of the world's DynamoDB, to read and write
// items as another program would.
func (w *world) dynamo(tb testing.TB) *dynamodb.Client {
	return dynalite.NewClient(tb, w.dyn.Endpoint())
}

// serverTable is the server table as the daemon's adapter reads it.
func (w *world) serverTable(tb testing.TB) *dynamo.Table {
	return dynamo.New(dynamo.NewClient(dynalite.AWSConfig(w.dyn.Endpoint()), nil), tableName)
}

// running lists the tasks that are not stopped.
func (w *world) running() []fakeaws.Task {
	var out []fakeaws.Task
	for _, t := range w.aws.Tasks() {
		if t.DesiredStatus != "STOPPED" && t.LastStatus != "STOPPED" {
			out = append(out, t)
		}
	}
	return out
}

// tickets lists the live ticket channels.
func (w *world) tickets() []fakediscord.Channel {
	var out []fakediscord.Channel
	for _, c := range w.discord.ChannelsUnder(categoryID) {
		if !c.Deleted {
			out = append(out, c)
		}
	}
	return out
}

// messagesIn returns the texts posted in a channel, current versions.
func (w *world) messagesIn(channelID string) []string {
	var out []string
	for _, m := range w.discord.Messages(channelID) {
		out = append(out, m.Text())
	}
	return out
}

// said reports whether some message in channel contains all of parts.
func (w *world) said(channelID string, parts ...string) bool {
	for _, m := range w.messagesIn(channelID) {
		ok := true
		for _, p := range parts {
			if !strings.Contains(m, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// syncBuffer collects the daemon's concurrent logs.
type syncBuffer = syncbuf.Buffer
