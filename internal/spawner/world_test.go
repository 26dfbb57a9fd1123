package spawner

import (
	"errors"
	"strings"
	"testing"
)

func TestValidWorldName(t *testing.T) {
	for _, name := range []string{"a", "survival", "my-world-2", strings.Repeat("z", 32), "0"} {
		if err := ValidWorldName(name); err != nil {
			t.Errorf("ValidWorldName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", strings.Repeat("z", 33), "My-World", "a b", "a_b", "../x", "monde-é", "a\n"} {
		if err := ValidWorldName(name); !errors.Is(err, ErrWorldName) {
			t.Errorf("ValidWorldName(%q) = %v, want ErrWorldName", name, err)
		}
	}
}

func TestValidWorldID(t *testing.T) {
	for _, id := range []string{"w1", "0123abcd", "20261207T120000123Z-0a1b2c3d", "A_b-C", strings.Repeat("x", 64)} {
		if err := ValidWorldID(id); err != nil {
			t.Errorf("ValidWorldID(%q) = %v, want nil", id, err)
		}
		if err := ValidBackupID(id); err != nil {
			t.Errorf("ValidBackupID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", "..", ".", "a/b", "-a", "_a", "a.b", "a b", strings.Repeat("x", 65), "a\x00"} {
		if err := ValidWorldID(id); !errors.Is(err, ErrWorldID) {
			t.Errorf("ValidWorldID(%q) = %v, want ErrWorldID", id, err)
		}
	}
}

func TestWorldKeyAndStates(t *testing.T) {
	if got := (World{ID: "abc"}).Key(); got != "world/abc" {
		t.Errorf("key %q", got)
	}
	for _, s := range []WorldState{WorldRunning, WorldAsleep, WorldStored} {
		if !s.Known() {
			t.Errorf("%s not known", s)
		}
	}
	if WorldState("awake").Known() || BackupReason("cron").Known() {
		t.Error("an unknown state or reason is known")
	}
	for _, r := range []BackupReason{BackupStop, BackupManual, BackupBeforeRestore} {
		if !r.Known() {
			t.Errorf("%s not known", r)
		}
	}
}
