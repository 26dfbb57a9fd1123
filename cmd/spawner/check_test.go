package main

// `spawner check` against the test world: every kind of misconfiguration the
// operator can make, each alone and several at once, told in one report that
// names the variable to fix, without a secret and without changing anything.

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.etcd.io/bbolt"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/fakes3"
)

// checkLimit is a third of the test's deadline for one `spawner check`,
// which bounds itself even against systems that do not answer.
const checkLimit = 30 * time.Second

// checkReport is what one `spawner check` printed and returned.
type checkReport struct {
	out string
	err error
}

// problems are the report's PROBLEM lines, without the prefix.
func (r checkReport) problems() []string {
	var out []string
	for _, line := range strings.Split(r.out, "\n") {
		if p, ok := strings.CutPrefix(line, "PROBLEM  "); ok {
			out = append(out, p)
		}
	}
	return out
}

// checkRunEnv runs `spawner check` with env (w.env with overrides; an empty
// value removes a variable) and fails the test when check had not ended
// on its own by the test's deadline.
func checkRunEnv(tb testing.TB, w *world, overrides map[string]string) checkReport {
	tb.Helper()
	env := make(map[string]string, len(w.env))
	for k, v := range w.env {
		env[k] = v
	}
	for k, v := range overrides {
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*checkLimit)
	defer cancel()
	var out syncBuffer
	err := run(ctx, []string{"check"}, func(k string) string { return env[k] }, &out, &out)
	// check bounds itself; a report cut by the test's deadline did not.
	if ctx.Err() != nil {
		tb.Errorf("check was still running when the test's %s deadline ended; report:\n%s", 3*checkLimit, out.String())
	}
	return checkReport{out: out.String(), err: err}
}

// checkClosedURL is an http URL on loopback where nothing listens.
func checkClosedURL(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// checkWant is a problem the report must tell: a PROBLEM line that starts
// with the variable to fix and contains every part.
type checkWant struct {
	variable string
	parts    []string
}

// checkExpect asserts the report tells exactly the wanted problems (all
// good when none), with a non-nil error exactly when there are problems,
// and no secret of the world.
func checkExpect(tb testing.TB, w *world, r checkReport, want []checkWant, secrets ...string) {
	tb.Helper()
	got := r.problems()
	for _, wp := range want {
		found := false
		for _, p := range got {
			if !strings.HasPrefix(p, wp.variable+": ") {
				continue
			}
			ok := true
			for _, part := range wp.parts {
				ok = ok && strings.Contains(p, part)
			}
			if ok {
				found = true
				break
			}
		}
		if !found {
			tb.Errorf("the report does not tell %s: %q; report:\n%s", wp.variable, wp.parts, r.out)
		}
	}
	if len(got) != len(want) {
		tb.Errorf("the report tells %d problem(s), want %d; report:\n%s", len(got), len(want), r.out)
	}
	switch {
	case len(want) == 0 && r.err != nil:
		tb.Errorf("check returned %v, want nil; report:\n%s", r.err, r.out)
	case len(want) == 0 && !strings.Contains(r.out, "all good"):
		tb.Errorf("the report does not say all good:\n%s", r.out)
	case len(want) == 0 && !strings.Contains(r.out, "ok       configuration\n"):
		tb.Errorf("the report does not say the configuration is ok:\n%s", r.out)
	case len(want) > 0 && r.err == nil:
		tb.Errorf("check returned nil with problems; report:\n%s", r.out)
	case len(want) > 0 && strings.Contains(r.out, "all good"):
		tb.Errorf("the report says all good with problems:\n%s", r.out)
	}
	secrets = append(secrets, w.discord.Options().Token, fakeaws.SecretAccessKey)
	for _, s := range secrets {
		if strings.Contains(r.out, s) || (r.err != nil && strings.Contains(r.err.Error(), s)) {
			tb.Errorf("a secret (%d characters) appears in the report:\n%s", len(s), r.out)
		}
	}
}

// checkTables lists the DynamoDB tables of the world.
func checkTables(tb testing.TB, w *world) []string {
	tb.Helper()
	out, err := w.dynamo(tb).ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil {
		tb.Fatalf("list tables: %v", err)
	}
	return out.TableNames
}

// checkNothingChanged asserts that Discord, ECS and DynamoDB saw reads only.
func checkNothingChanged(tb testing.TB, w *world) {
	tb.Helper()
	for _, r := range w.discord.Requests() {
		if r.Method != "GET" {
			tb.Errorf("check called Discord %s %s", r.Method, r.Path)
		}
	}
	if n := w.discord.Identifies(); n != 0 {
		tb.Errorf("check opened the gateway (%d IDENTIFY)", n)
	}
	if cmds := w.discord.CommandsIn(guildID); len(cmds) != 0 {
		tb.Errorf("check registered commands: %+v", cmds)
	}
	for _, op := range []string{"RunTask", "StopTask", "CreateCluster", "RegisterTaskDefinition", "TagResource"} {
		if n := len(w.aws.Calls(op)); n != 0 {
			tb.Errorf("check called ECS %s %d time(s)", op, n)
		}
	}
	if len(w.aws.Tasks()) != 0 {
		tb.Errorf("tasks in the cluster after check: %s", w.taskSummary())
	}
	if tables := checkTables(tb, w); len(tables) != 0 {
		tb.Errorf("tables after check: %v", tables)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	badToken := filepath.Join(t.TempDir(), "bad_token")
	const wrongToken = "MTEwMDAwMDAwMDAwMDAwMDAwMg.wrong.token-value"
	if err := os.WriteFile(badToken, []byte(wrongToken), 0o600); err != nil {
		t.Fatal(err)
	}
	const (
		otherGuild = "1100000000000009999"
		noRole     = "1100000000000009998"
		noChannel  = "1100000000000009997"
	)
	closed := checkClosedURL(t)

	cases := []struct {
		name string
		env  map[string]string
		want []checkWant
		says string // part of an ok line
	}{
		// The world's table does not exist: with DYNAMODB_CREATE_TABLE=true
		// that is fine, the daemon creates it at start.
		{name: "all good", want: nil},
		{
			name: "wrong guild",
			env:  map[string]string{"DISCORD_GUILD_ID": otherGuild},
			want: []checkWant{{"DISCORD_GUILD_ID", []string{otherGuild}}},
		},
		{
			name: "missing user role",
			env:  map[string]string{"DISCORD_USER_ROLE_ID": userRole + "," + noRole},
			want: []checkWant{{"DISCORD_USER_ROLE_ID", []string{"no role " + noRole}}},
		},
		{
			name: "missing admin role",
			env:  map[string]string{"DISCORD_ADMIN_ROLE_ID": noRole},
			want: []checkWant{{"DISCORD_ADMIN_ROLE_ID", []string{"no role " + noRole}}},
		},
		{
			name: "missing category",
			env:  map[string]string{"DISCORD_GAMESERVER_CATEGORY_ID": noChannel},
			want: []checkWant{{"DISCORD_GAMESERVER_CATEGORY_ID", []string{noChannel}}},
		},
		{
			name: "category is a text channel",
			env:  map[string]string{"DISCORD_GAMESERVER_CATEGORY_ID": fakediscord.DefaultGeneralID},
			want: []checkWant{{"DISCORD_GAMESERVER_CATEGORY_ID", []string{fakediscord.DefaultGeneralID, "not a category"}}},
		},
		{
			name: "missing log channel",
			env:  map[string]string{"DISCORD_LOG_CHANNEL_ID": noChannel},
			want: []checkWant{{"DISCORD_LOG_CHANNEL_ID", []string{noChannel}}},
		},
		{
			name: "log channel is a category",
			env:  map[string]string{"DISCORD_LOG_CHANNEL_ID": categoryID},
			want: []checkWant{{"DISCORD_LOG_CHANNEL_ID", []string{categoryID, "not a text channel"}}},
		},
		{
			name: "no log channel is fine",
			env:  map[string]string{"DISCORD_LOG_CHANNEL_ID": ""},
		},
		{
			// The guild's id is the @everyone role: every member may ask.
			name: "@everyone as the user role",
			env:  map[string]string{"DISCORD_USER_ROLE_ID": guildID},
			says: "the @everyone role: every member may ask for servers",
		},
		{
			name: "token rejected",
			env:  map[string]string{"DISCORD_TOKEN_FILE": badToken},
			want: []checkWant{{"DISCORD_TOKEN", []string{"401"}}},
		},
		{
			name: "discord unreachable",
			env:  map[string]string{"DISCORD_API_URL": closed},
			want: []checkWant{{"DISCORD_API_URL", []string{"cannot reach Discord"}}},
		},
		{
			name: "missing cluster",
			env:  map[string]string{"AWS_ECS_CLUSTER_NAME": "no-such-cluster"},
			want: []checkWant{{"AWS_ECS_CLUSTER_NAME", []string{"no-such-cluster", "not found"}}},
		},
		{
			name: "missing task definition",
			env:  map[string]string{"ECS_TASK_DEFINITION": "no-such-family"},
			want: []checkWant{{"ECS_TASK_DEFINITION", []string{"no-such-family"}}},
		},
		{
			name: "task definition without the container",
			env:  map[string]string{"DOCKER_IMAGE_NAME": "paper"},
			want: []checkWant{{"DOCKER_IMAGE_NAME", []string{`"paper"`, family, container}}},
		},
		{
			name: "missing table",
			env:  map[string]string{"DYNAMODB_CREATE_TABLE": "false"},
			want: []checkWant{{"AWS_DYNAMODB_TABLE_NAME", []string{tableName, "DYNAMODB_CREATE_TABLE=true"}}},
		},
		{
			name: "several problems at once",
			env: map[string]string{
				"DISCORD_USER_ROLE_ID":   noRole,
				"DISCORD_LOG_CHANNEL_ID": noChannel,
				"AWS_ECS_CLUSTER_NAME":   "no-such-cluster",
				"DOCKER_IMAGE_NAME":      "paper",
				"DYNAMODB_CREATE_TABLE":  "false",
			},
			want: []checkWant{
				{"DISCORD_USER_ROLE_ID", []string{noRole}},
				{"DISCORD_LOG_CHANNEL_ID", []string{noChannel}},
				{"AWS_ECS_CLUSTER_NAME", []string{"no-such-cluster"}},
				{"DOCKER_IMAGE_NAME", []string{"paper"}},
				{"AWS_DYNAMODB_TABLE_NAME", []string{tableName}},
			},
		},
		{
			name: "malformed variables",
			env: map[string]string{
				"DISCORD_TOKEN_FILE":      "",
				"DISCORD_GUILD_ID":        "my-guild",
				"GAMESERVER_MAX_DURATION": "soon",
				"GAMESERVER_PORT":         "70000",
				"ECS_ASSIGN_PUBLIC_IP":    "maybe",
				"HTTP_ADDR":               "nonsense",
			},
			want: []checkWant{
				{"DISCORD_TOKEN", nil},
				{"DISCORD_GUILD_ID", []string{"my-guild"}},
				{"GAMESERVER_MAX_DURATION", []string{"soon"}},
				{"GAMESERVER_PORT", []string{"70000"}},
				{"ECS_ASSIGN_PUBLIC_IP", []string{"maybe"}},
				{"HTTP_ADDR", []string{"nonsense"}},
			},
		},
		{
			name: "aws unreachable",
			env: map[string]string{
				"AWS_ENDPOINT_URL_ECS":      closed,
				"AWS_ENDPOINT_URL_EC2":      closed,
				"AWS_ENDPOINT_URL_DYNAMODB": closed,
			},
			want: []checkWant{
				// One call per ECS check fails: the cluster and the task definition.
				{"AWS_ENDPOINT_URL_ECS", []string{"cluster", "connection refused"}},
				{"AWS_ENDPOINT_URL_ECS", []string{"task definition", "connection refused"}},
				{"AWS_ENDPOINT_URL_DYNAMODB", []string{tableName, "connection refused"}},
			},
		},
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				r := checkRunEnv(t, w, c.env)
				checkExpect(t, w, r, c.want, wrongToken)
				if c.says != "" && !regexp.MustCompile(`(?m)^ok +.*`+regexp.QuoteMeta(c.says)).MatchString(r.out) {
					t.Errorf("the report does not say %q as ok", c.says)
				}
				if t.Failed() {
					t.Logf("report:\n%s", r.out)
				}
			})
		}
	})
	// None of the checks above touched anything: no table was created
	// although DYNAMODB_CREATE_TABLE=true.
	checkNothingChanged(t, w)

	// With the table there, DYNAMODB_CREATE_TABLE=false is all good...
	if err := w.serverTable(t).EnsureTable(context.Background()); err != nil {
		t.Fatalf("create the table: %v", err)
	}
	checkExpect(t, w, checkRunEnv(t, w, map[string]string{"DYNAMODB_CREATE_TABLE": "false"}), nil)
	// ... and DynamoDB out of reach is a problem, whether or not the daemon
	// would create the table.
	w.db.Down()
	for _, create := range []string{"true", "false"} {
		r := checkRunEnv(t, w, map[string]string{"DYNAMODB_CREATE_TABLE": create})
		checkExpect(t, w, r, []checkWant{{"AWS_ENDPOINT_URL_DYNAMODB", []string{tableName}}})
	}
}

// TestCheckWorldLacks: a world that lacks what the daemon needs but the
// configuration is right: a bot whose role lacks Manage Channels (it could
// not create ticket channels), a cluster without FARGATE_SPOT.
func TestCheckWorldLacks(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{
		discord: fakediscord.Options{BotPermissions: fakediscord.DefaultBotPermissions &^ fakediscord.PermManageChannels},
		aws:     fakeaws.Options{CapacityProviders: []string{"FARGATE"}},
	})
	r := checkRunEnv(t, w, map[string]string{"ECS_CAPACITY_PROVIDER": "FARGATE_SPOT"})
	checkExpect(t, w, r, []checkWant{
		{"bot permissions", []string{"Manage Channels"}},
		{"ECS_CAPACITY_PROVIDER", []string{"FARGATE_SPOT", fakeaws.DefaultClusterName}},
	})
	if strings.Contains(r.out, "Manage Roles") {
		t.Errorf("the report names a permission the bot holds:\n%s", r.out)
	}

	// The operator fixes the bot's role and uses FARGATE: all good.
	w.discord.SetBotPermissions(fakediscord.DefaultBotPermissions)
	checkExpect(t, w, checkRunEnv(t, w, nil), nil)
	checkNothingChanged(t, w)
}

// TestCheckOkOnlyForWhatIsOk: a configuration with problems is not "ok";
// nothing is, since nothing else could be checked.
func TestCheckOkOnlyForWhatIsOk(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	env := map[string]string{"DISCORD_GUILD_ID": "my-guild", "GAMESERVER_PORT": "70000"}
	err := run(context.Background(), []string{"check"}, func(k string) string { return env[k] }, &out, &out)
	if err == nil {
		t.Fatalf("check = nil with a broken configuration; report:\n%s", out.String())
	}
	if strings.Contains(out.String(), "ok ") || strings.Contains(out.String(), "all good") {
		t.Errorf("the report says something is ok above its problems:\n%s", out.String())
	}
	for _, v := range []string{"DISCORD_TOKEN", "DISCORD_GUILD_ID", "GAMESERVER_PORT", "DOCKER_PUBLIC_HOST"} {
		if !strings.Contains(out.String(), "PROBLEM  "+v+": ") {
			t.Errorf("the report does not tell %s:\n%s", v, out.String())
		}
	}
}

// TestCheckWorldBucket: with WORLD_S3_BUCKET, check lists one key under
// worlds/ (what the bot's role may; HeadBucket it may not), and tells a
// missing bucket, a refusal and an S3 out of reach, each naming what to fix.
func TestCheckWorldBucket(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	fake := fakes3.Start(t)
	const bucket = "spawner-worlds-123456789012"
	fake.Bucket(t, bucket)
	fake.DenyWhen(fakes3.BotDenies)
	env := map[string]string{"WORLD_S3_BUCKET": bucket, "AWS_ENDPOINT_URL_S3": fake.URL}

	r := checkRunEnv(t, w, env)
	checkExpect(t, w, r, nil)
	if !strings.Contains(r.out, "ok       worlds: s3 bucket "+bucket) {
		t.Errorf("the report does not say the bucket is ok:\n%s", r.out)
	}
	if got := fake.Requests(); len(got) != 1 || got[0] != "GET /"+bucket+"?list-type&max-keys&prefix" {
		t.Errorf("check asked S3 %v, want one ListObjectsV2", got)
	}

	r = checkRunEnv(t, w, map[string]string{"WORLD_S3_BUCKET": "no-such-bucket", "AWS_ENDPOINT_URL_S3": fake.URL})
	checkExpect(t, w, r, []checkWant{{"WORLD_S3_BUCKET", []string{"no-such-bucket", "NoSuchBucket"}}})

	fake.DenyWhen(func(*http.Request) bool { return true })
	r = checkRunEnv(t, w, env)
	checkExpect(t, w, r, []checkWant{{"WORLD_S3_BUCKET", []string{bucket, "AccessDenied", "s3:ListBucket", "worlds/"}}})

	r = checkRunEnv(t, w, map[string]string{"WORLD_S3_BUCKET": bucket, "AWS_ENDPOINT_URL_S3": checkClosedURL(t)})
	checkExpect(t, w, r, []checkWant{{"AWS_ENDPOINT_URL_S3", []string{bucket, "connection refused"}}})
	checkNothingChanged(t, w)
	for _, req := range fake.Requests() {
		if !strings.HasPrefix(req, "GET ") {
			t.Errorf("check asked S3 %s", req)
		}
	}
}

// warnings are the report's WARNING lines, without the prefix.
func (r checkReport) warnings() []string {
	var out []string
	for _, line := range strings.Split(r.out, "\n") {
		if p, ok := strings.CutPrefix(line, "WARNING  "); ok {
			out = append(out, p)
		}
	}
	return out
}

// TestCheckMalformedRecords: records the daemon would skip at start (a
// world in a state it does not know, a server without its channel, a
// cooldown without its start, a game template that is not JSON) are each
// told on a WARNING line naming the store's variable, the record and what
// is wrong, in the table and in the embedded store alike; they are not
// problems: the daemon starts and skips them, so check still succeeds.
// The records are left as they are.
func TestCheckMalformedRecords(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{})
	ctx := context.Background()
	const task = "arn:aws:ecs:eu-west-3:123456789012:task/spawner/0f1e2d3c4b5a"
	good := spawner.World{ID: "w-good", Owner: "8", Game: "paper", Name: "creative", State: spawner.WorldStored}
	malformed := map[string]string{ // each record's key, and its JSON
		"world/w-1":  `{"taskId":"world/w-1","userId":"8","game":"paper","name":"survival","state":"frozen"}`,
		task:         `{"taskId":"` + task + `","userId":"8"}`,
		"cooldown/8": `{"taskId":"cooldown/8"}`,
		"game/paper": `{"taskId":"game/paper","template":"{not json"}`,
	}
	want := func(variable string) []string {
		return []string{
			variable + ": world w-1: state is not a known world state",
			variable + ": server " + task + ": channelId is missing",
			variable + ": cooldown 8: startedAt is missing",
			variable + ": game paper: template is not JSON",
		}
	}
	expect := func(store string, r checkReport, want []string) {
		t.Helper()
		if r.err != nil || len(r.problems()) != 0 {
			t.Errorf("%s: check = %v with problems %q, want success: a malformed record is skipped by the daemon", store, r.err, r.problems())
		}
		got := r.warnings()
		for _, wl := range want {
			if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, wl) }) {
				t.Errorf("%s: no WARNING line starts with %q", store, wl)
			}
		}
		if len(got) != len(want) || strings.Contains(r.out, "all good") || strings.Contains(r.out, good.ID) {
			t.Errorf("%s: want %d warnings, one per malformed record, nothing of the good world, and not all good", store, len(want))
		}
		if t.Failed() {
			t.Logf("report:\n%s", r.out)
		}
	}

	// The table.
	table := w.serverTable(t)
	if err := table.EnsureTable(ctx); err != nil {
		t.Fatalf("create the table: %v", err)
	}
	if err := table.PutWorld(ctx, good); err != nil {
		t.Fatal(err)
	}
	for key, doc := range malformed {
		item := map[string]types.AttributeValue{}
		var attrs map[string]string
		if err := json.Unmarshal([]byte(doc), &attrs); err != nil {
			t.Fatal(err)
		}
		for k, v := range attrs {
			item[k] = &types.AttributeValueMemberS{Value: v}
		}
		if _, err := w.dynamo(t).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: item}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	expect("table", checkRunEnv(t, w, map[string]string{"DYNAMODB_CREATE_TABLE": "false"}), want("AWS_DYNAMODB_TABLE_NAME"))
	if snap, err := table.LoadAll(ctx); err != nil || len(snap.Problems)+len(snap.GameProblems) != len(malformed) || len(snap.Worlds) != 1 {
		t.Errorf("the table after check: %d problems, %d worlds, %v; want the records as they were", len(snap.Problems), len(snap.Worlds), err)
	}

	// The embedded store.
	dir := t.TempDir()
	st, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutWorld(ctx, good); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for key, doc := range malformed {
			bucket, name := "servers", key
			for prefix, b := range map[string]string{"world/": "worlds", "cooldown/": "cooldowns", "game/": "games"} {
				if rest, ok := strings.CutPrefix(key, prefix); ok {
					bucket, name = b, rest
				}
			}
			b, err := tx.CreateBucketIfNotExists([]byte(bucket))
			if err == nil {
				err = b.Put([]byte(name), []byte(doc))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("put the malformed records: %v", err)
	}
	expect("embedded store", checkRunEnv(t, w, embeddedEnv(dir)), want("SPAWNER_DATA_DIR"))
	st, err = bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if snap, err := st.LoadAll(ctx); err != nil || len(snap.Problems)+len(snap.GameProblems) != len(malformed) || len(snap.Worlds) != 1 {
		t.Errorf("the embedded store after check: %d problems, %d worlds, %v; want the records as they were", len(snap.Problems), len(snap.Worlds), err)
	}
}
