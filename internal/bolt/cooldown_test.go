package bolt_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/bolt"
	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// A cooldown is stored as the table's item, in its own bucket, and is read
// back after the file is closed and opened again (a restart).
func TestCooldownsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	since := time.Date(2025, 6, 1, 18, 0, 0, 123_456_789, time.UTC)
	if err := st.PutCooldown(wait.Context(t), "111", since); err != nil {
		t.Fatalf("put cooldown: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(rawGet(t, dir, "cooldowns", "111"), &got); err != nil {
		t.Fatalf("stored cooldown is not JSON: %v", err)
	}
	if want := map[string]any{"taskId": "cooldown/111", "startedAt": 1748800800123.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored cooldown = %v, want %v", got, want)
	}

	st = openStore(t, dir)
	cooldowns, problems, err := st.LoadCooldowns(wait.Context(t))
	if err != nil || len(problems) != 0 || !reflect.DeepEqual(cooldowns, map[string]time.Time{"111": since.Truncate(time.Millisecond)}) {
		t.Errorf("LoadCooldowns after reopen = %v, %v, %v", cooldowns, problems, err)
	}
}

// A file an older bot wrote has no cooldowns bucket: no cooldown is
// running, deleting one is a no-op, and the first put makes the bucket.
func TestFileWithoutCooldownsBucket(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	if err := st.Put(wait.Context(t), records.Full()); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if v := rawGet(t, dir, "cooldowns", "111"); v != nil {
		t.Fatalf("a cooldown before any was put: %q", v)
	}
	st = openStore(t, dir)
	ctx := wait.Context(t)
	if got, problems, err := st.LoadCooldowns(ctx); err != nil || len(problems) != 0 || len(got) != 0 {
		t.Errorf("LoadCooldowns = %v, %v, %v; want none", got, problems, err)
	}
	if err := st.DeleteCooldown(ctx, "111"); err != nil {
		t.Errorf("DeleteCooldown without the bucket: %v", err)
	}
	if err := st.PutCooldown(ctx, "111", time.UnixMilli(1700000000000)); err != nil {
		t.Fatalf("PutCooldown: %v", err)
	}
	if got, _, err := st.LoadCooldowns(ctx); err != nil || len(got) != 1 {
		t.Errorf("LoadCooldowns after the first put = %v, %v", got, err)
	}
	if servers, problems, err := st.Load(ctx); err != nil || len(problems) != 0 || len(servers) != 1 {
		t.Errorf("Load = %+v, %v, %v; want the server only", servers, problems, err)
	}
}

// A cooldown record that cannot be read is a problem naming its key,
// skipped, never fatal; one that strayed into the servers bucket is no
// server.
func TestMalformedCooldownRecordsAreProblems(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	rawPut(t, dir, "cooldowns", "good", []byte(`{"taskId":"cooldown/good","startedAt":1700000000000}`))
	rawPut(t, dir, "cooldowns", "text", []byte(`{"taskId":"cooldown/text","startedAt":"a moment ago"}`))
	rawPut(t, dir, "cooldowns", "none", []byte(`{"taskId":"cooldown/none"}`))
	rawPut(t, dir, "cooldowns", "old", []byte(`{"taskId":"cooldown/old","startedAt":-5}`))
	rawPut(t, dir, "cooldowns", "garbage", []byte("\x00\x01"))
	rawPut(t, dir, "servers", "cooldown/stray", []byte(`{"taskId":"cooldown/stray","startedAt":1700000000000}`))

	st = openStore(t, dir)
	got, problems, err := st.LoadCooldowns(wait.Context(t))
	if err != nil {
		t.Fatalf("LoadCooldowns: %v", err)
	}
	if !reflect.DeepEqual(got, map[string]time.Time{"good": time.UnixMilli(1700000000000).UTC()}) {
		t.Errorf("cooldowns = %v, want only the good one", got)
	}
	bad := map[string]string{
		"cooldown/text": "startedAt is a JSON string, want a number", "cooldown/none": "startedAt is missing",
		"cooldown/old": "not a time after 1970", "cooldown/garbage": "not a JSON object",
	}
	if len(problems) != len(bad) {
		t.Errorf("problems = %v, want one per bad record %v", problems, bad)
	}
	for _, p := range problems {
		var ie *bolt.ItemError
		if !errors.As(p, &ie) || bad[ie.Key] == "" || !strings.Contains(p.Error(), bad[ie.Key]) {
			t.Errorf("problem %q does not name its key and what is wrong", p)
		}
	}
	if servers, problems, err := st.Load(wait.Context(t)); err != nil || len(servers) != 0 || len(problems) != 0 {
		t.Errorf("Load = %+v, %v, %v; want no server and no problem from cooldowns", servers, problems, err)
	}
}
