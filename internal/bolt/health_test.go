//go:build unix

package bolt_test

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/mineral-contest/spawner/internal/testworld/records"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// A write that fails (here the file may not grow, as on a full disk) makes
// Check, and so /readyz, say so, until a write goes through again. The
// limit on file size is the process's: no test of this package runs in
// parallel with this one.
func TestCheckTellsAFailedWrite(t *testing.T) {
	st := openStore(t, t.TempDir())
	ctx := wait.Context(t)
	info, err := os.Stat(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	var was syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
		t.Fatal(err)
	}
	full := was
	full.Cur = uint64(info.Size()) // the file may not grow: its disk is full
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &was); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restore)

	big := records.Full()
	big.Token = strings.Repeat("t", 256<<10)
	if err := st.Put(ctx, big); err == nil {
		t.Fatalf("a Put that grows the file past the limit succeeded")
	}
	err = st.Check(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "SPAWNER_DATA_DIR: ") || !strings.Contains(err.Error(), "the last write failed") {
		t.Errorf("Check after a failed write = %v, want a problem naming SPAWNER_DATA_DIR and the failed write", err)
	}
	if err != nil && strings.Contains(err.Error(), records.Full().Token) {
		t.Errorf("Check's problem shows the record's token: %v", err)
	}

	restore()
	if err := st.Put(ctx, big); err != nil {
		t.Fatalf("Put once the file may grow again: %v", err)
	}
	if err := st.Check(ctx); err != nil {
		t.Errorf("Check after a write went through again: %v", err)
	}
}
