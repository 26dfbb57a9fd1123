package bolt_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

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
	snap, err := st.LoadAll(wait.Context(t))
	if err != nil || len(snap.Problems) != 0 || !reflect.DeepEqual(snap.Cooldowns, map[string]time.Time{"111": since.Truncate(time.Millisecond)}) {
		t.Errorf("cooldowns after reopen = %v, %v, %v", snap.Cooldowns, snap.Problems, err)
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
	if snap, err := st.LoadAll(ctx); err != nil || len(snap.Problems) != 0 || len(snap.Cooldowns) != 0 {
		t.Errorf("cooldowns = %v, %v, %v; want none", snap.Cooldowns, snap.Problems, err)
	}
	if err := st.DeleteCooldown(ctx, "111"); err != nil {
		t.Errorf("DeleteCooldown without the bucket: %v", err)
	}
	if err := st.PutCooldown(ctx, "111", time.UnixMilli(1700000000000)); err != nil {
		t.Fatalf("PutCooldown: %v", err)
	}
	snap, err := st.LoadAll(ctx)
	if err != nil || len(snap.Cooldowns) != 1 {
		t.Errorf("cooldowns after the first put = %v, %v", snap.Cooldowns, err)
	}
	if len(snap.Problems) != 0 || len(snap.Servers) != 1 {
		t.Errorf("servers = %+v, problems %v; want the server only", snap.Servers, snap.Problems)
	}
}

// A cooldown record that strayed into the servers bucket is neither a
// server nor a cooldown, nor a problem: Put never writes one there. (The
// cooldowns that cannot be read are the contract's,
// TestContractMalformedRecords.)
func TestStrayCooldownInServersIsSkipped(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	if err := st.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	rawPut(t, dir, "cooldowns", "good", []byte(`{"taskId":"cooldown/good","startedAt":1700000000000}`))
	rawPut(t, dir, "servers", "cooldown/stray", []byte(`{"taskId":"cooldown/stray","startedAt":1700000000000}`))
	rawPut(t, dir, "servers", "game/stray", []byte(`{"taskId":"game/stray","template":"{}"}`))

	st = openStore(t, dir)
	snap, err := st.LoadAll(wait.Context(t))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !reflect.DeepEqual(snap.Cooldowns, map[string]time.Time{"good": time.UnixMilli(1700000000000).UTC()}) {
		t.Errorf("cooldowns = %v, want only the good one", snap.Cooldowns)
	}
	if len(snap.Servers) != 0 || len(snap.Games) != 0 || len(snap.Problems) != 0 || len(snap.GameProblems) != 0 {
		t.Errorf("loaded %+v; want the good cooldown alone", snap)
	}
}
