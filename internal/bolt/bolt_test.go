package bolt_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// openStore opens a store in dir, closed when tb ends.
func openStore(tb testing.TB, dir string) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(dir)
	if err != nil {
		tb.Fatalf("open %s: %v", dir, err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// rawPut writes v under key in bucket, bypassing the store, as another
// writer (or a damaged file) might have. The store must be closed.
func rawPut(tb testing.TB, dir, bucket, key string, v []byte) {
	tb.Helper()
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		tb.Fatalf("raw open: %v", err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), v)
	})
	if err != nil {
		tb.Fatalf("raw put %s/%s: %v", bucket, key, err)
	}
}

// rawGet reads the value under key in bucket. The store must be closed.
func rawGet(tb testing.TB, dir, bucket, key string) []byte {
	tb.Helper()
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		tb.Fatalf("raw open: %v", err)
	}
	defer db.Close()
	var v []byte
	_ = db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			v = slices.Clone(b.Get([]byte(key)))
		}
		return nil
	})
	return v
}

func TestOpenCreatesTheFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	st := openStore(t, dir)
	if st.Path() != filepath.Join(dir, "spawner.db") {
		t.Errorf("Path = %s", st.Path())
	}
	if _, err := os.Stat(st.Path()); err != nil {
		t.Errorf("the store's file: %v", err)
	}
	if err := st.Check(wait.Context(t)); err != nil {
		t.Errorf("Check of a fresh store: %v", err)
	}
}

func TestRecordsKeepTheTableAttributeNames(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	srv := records.Full()
	srv.Players = 7
	if err := st.Put(wait.Context(t), srv); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := st.PutGame(wait.Context(t), "valheim", []byte(`{"name":"valheim"}`)); err != nil {
		t.Fatalf("put game: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	var got map[string]any
	if err := json.Unmarshal(rawGet(t, dir, "servers", srv.Key()), &got); err != nil {
		t.Fatalf("stored record is not JSON: %v", err)
	}
	want := map[string]any{
		// The original bot's attributes, with its names.
		"taskId": records.TaskARN, "publicIpAddress": "203.0.113.7", "token": "s3cr3t-admin-token",
		"creationDate": 1714595415123.0, "channelId": "222222222222222222",
		"typeServer": "non_official", "userId": "111111111111111111",
		// Ours, with the table's names.
		"creationId": "c-42", "game": "minecraft", "statusMessageId": "333333333333333333",
		"port": 25566.0, "locale": "fr", "state": "ready",
		"runningDate": 1714595505123.0, "readyDate": 1714595565130.0,
		"warnings": 2.0, "runtimeWarned": true,
		"stopAt": 1714606215128.0, "extensions": 2.0, "rconPassword": "rcon-pa55",
		"gameTemplate": `{"name":"valheim","title":"Valheim","port":2456}`,
		"players":      7.0,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored record\n%v\nwant\n%v", got, want)
	}

	var game map[string]any
	if err := json.Unmarshal(rawGet(t, dir, "games", "valheim"), &game); err != nil {
		t.Fatalf("stored game is not JSON: %v", err)
	}
	if game["taskId"] != "game/valheim" || game["template"] != `{"name":"valheim"}` {
		t.Errorf("stored game = %v", game)
	}
	if _, ok := game["updatedAt"].(float64); !ok {
		t.Errorf("stored game has no updatedAt number: %v", game)
	}
}

// What only the file can hold wrong (the rules every store shares are the
// contract's, TestContractMalformedRecords): a value that is not a JSON
// object, a taskId other than the record's key. Each is a problem naming
// its key, skipped, never fatal; a JSON null is an absent attribute.
func TestMalformedRecordsAreProblemsAndSkipped(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	good := records.Full()
	if err := st.Put(wait.Context(t), good); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	rawPut(t, dir, "servers", "not-json", []byte("{\"taskId\": \"not-json\", \x00"))
	rawPut(t, dir, "servers", "a-list", []byte(`["taskId"]`))
	rawPut(t, dir, "servers", "key-mismatch", []byte(`{"taskId":"other","userId":"8","channelId":"9","creationDate":1700000000000}`))
	rawPut(t, dir, "servers", "no-key", []byte(`{"userId":"8","channelId":"9","creationDate":1700000000000}`))
	rawPut(t, dir, "servers", "nulls", []byte(`{"taskId":"nulls","userId":"8","channelId":"9","creationDate":1700000000000,"port":null,"state":null,"token":null}`))
	rawPut(t, dir, "games", "garbage", []byte("\x00\x01"))
	rawPut(t, dir, "cooldowns", "garbage", []byte("\x00\x01"))

	st = openStore(t, dir)
	snap, err := st.LoadAll(wait.Context(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	nulls := spawner.Server{TaskID: "nulls", Owner: "8", ChannelID: "9", CreatedAt: time.UnixMilli(1700000000000).UTC()}
	sort.Slice(snap.Servers, func(i, j int) bool { return snap.Servers[i].Key() < snap.Servers[j].Key() })
	if want := []spawner.Server{good, nulls}; !reflect.DeepEqual(snap.Servers, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", snap.Servers, want)
	}
	want := map[string]string{
		"not-json":         `item "not-json": the record is not a JSON object`,
		"a-list":           `item "a-list": the record is not a JSON object`,
		"key-mismatch":     `item "key-mismatch": taskId does not match the record's key`,
		"no-key":           `item "no-key": taskId is missing`,
		"cooldown/garbage": `item "cooldown/garbage": the record is not a JSON object`,
	}
	if got := errorsByKey(t, snap.Problems); !reflect.DeepEqual(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
	want = map[string]string{"game/garbage": `item "game/garbage": the record is not a JSON object`}
	if got := errorsByKey(t, snap.GameProblems); !reflect.DeepEqual(got, want) {
		t.Errorf("game problems = %q, want %q", got, want)
	}
}

// errorsByKey is problems by the key each names.
func errorsByKey(tb testing.TB, problems []error) map[string]string {
	tb.Helper()
	got := map[string]string{}
	for _, p := range problems {
		var re *spawner.RecordError
		if !errors.As(p, &re) {
			tb.Errorf("problem %v is not a *spawner.RecordError", p)
			continue
		}
		got[re.Key] = p.Error()
	}
	return got
}

func TestSecondOpenOnTheSameFolderIsRefused(t *testing.T) {
	dir := t.TempDir()
	first := openStore(t, dir)

	second, err := bolt.Open(dir)
	if err == nil {
		_ = second.Close()
		t.Fatalf("a second Open on %s succeeded while the first holds it", dir)
	}
	want := fmt.Sprintf("SPAWNER_DATA_DIR %s is in use by another spawner (file lock on spawner.db)", dir)
	if !errors.Is(err, bolt.ErrInUse) || err.Error() != want {
		t.Errorf("second Open = %q, want %q wrapping ErrInUse", err, want)
	}

	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	third := openStore(t, dir)
	if err := third.Check(wait.Context(t)); err != nil {
		t.Errorf("after the first closed, Check: %v", err)
	}
}

func TestOpenOnAFileThatIsNotAStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), []byte("not a bolt file, not at all, nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := bolt.Open(dir); err == nil {
		_ = st.Close()
		t.Fatalf("Open of a garbage file succeeded")
	} else if !strings.Contains(err.Error(), filepath.Join(dir, bolt.FileName)) {
		t.Errorf("Open = %v, want it to name the file", err)
	}
}

// crashEnv, when set in a test binary's environment, makes
// TestCrashLosesNothingAcknowledged the writer child, writing into the
// folder it names.
const crashEnv = "SPAWNER_BOLT_CRASH_DIR"

// crashWriter is the child: it writes servers (and a game now and then)
// in a burst, printing "ack <key>" once each Put has returned, until it is
// killed or has written crashBurst records.
func crashWriter(dir, prefix string) {
	st, err := bolt.Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := range crashBurst {
		srv := records.Full()
		srv.TaskID = fmt.Sprintf("%s-%s-%05d", records.TaskARN, prefix, i)
		srv.Token = strings.Repeat("t", i%4000) // records of varying size, so pages split
		if err := st.Put(context.Background(), srv); err != nil {
			fmt.Println("put:", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ack %s\n", srv.Key())
		if i%10 == 0 {
			name := fmt.Sprintf("%s-%d", prefix, i)
			if err := st.PutGame(context.Background(), name, []byte(`{"name":"x"}`)); err != nil {
				fmt.Println("put game:", err)
				os.Exit(4)
			}
			fmt.Fprintf(out, "ack game/%s\n", name)
		}
		if err := out.Flush(); err != nil {
			os.Exit(5)
		}
	}
	os.Exit(0)
}

// crashBurst bounds the child's burst, so a parent that failed to kill it
// does not leave it writing forever.
const crashBurst = 20000

// killAfter is how many acknowledged writes the parent waits for before
// the SIGKILL: enough that the kill lands in the middle of the burst.
const killAfter = 150

func TestCrashLosesNothingAcknowledged(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashWriter(dir, os.Getenv(crashEnv+"_PREFIX"))
		return
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	for round := range 3 {
		keys := crashRound(t, dir, fmt.Sprint("r", round))
		for _, k := range keys {
			acked[k] = true
		}
		t.Logf("round %d: %d writes acknowledged before the SIGKILL landed", round, len(keys))
		if len(keys) < killAfter {
			t.Fatalf("round %d: only %d writes acknowledged before the kill", round, len(keys))
		}

		st, err := bolt.Open(dir)
		if err != nil {
			t.Fatalf("round %d: the file does not open after a SIGKILL: %v", round, err)
		}
		snap, err := st.LoadAll(wait.Context(t))
		if err != nil || len(snap.Problems) != 0 || len(snap.GameProblems) != 0 {
			t.Fatalf("round %d: load after the kill: %v, problems %v %v", round, err, snap.Problems, snap.GameProblems)
		}
		servers, games := snap.Servers, snap.Games
		if err := st.Check(wait.Context(t)); err != nil {
			t.Errorf("round %d: check after the kill: %v", round, err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		stored := map[string]bool{}
		for _, s := range servers {
			stored[s.Key()] = true
		}
		for name := range games {
			stored[spawner.GameKeyPrefix+name] = true
		}
		lost := 0
		for k := range acked {
			if !stored[k] {
				lost++
				if lost <= 5 {
					t.Errorf("round %d: %s was acknowledged and is gone", round, k)
				}
			}
		}
		if lost > 0 {
			t.Fatalf("round %d: %d of %d acknowledged writes lost", round, lost, len(acked))
		}
	}
}

// crashRound runs the writer child on dir, SIGKILLs it once it has
// acknowledged killAfter writes, and returns every key it acknowledged.
func crashRound(tb testing.TB, dir, prefix string) []string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLosesNothingAcknowledged$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_PREFIX="+prefix)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("stdout pipe: %v", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start the writer: %v", err)
	}
	killed := false
	tb.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	var keys, other []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		key, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			other = append(other, line)
			continue
		}
		keys = append(keys, key)
		if len(keys) == killAfter && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				tb.Fatalf("kill the writer: %v", err)
			}
			killed = true
		}
		// Lines already in the pipe when the kill landed were printed
		// after their Put returned: they are acknowledged too.
	}
	err = cmd.Wait()
	killed = true
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		tb.Fatalf("writer ended with %v, not by the SIGKILL (after %d acks; other output %q; stderr %s)", err, len(keys), other, stderr.String())
	}
	return keys
}
