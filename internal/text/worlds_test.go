package text

import (
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Every refusal of a world command has a sentence of its own in both
// languages, carries no chat markup (references only), and the invalid
// world name says what is wrong with it.
func TestWorldRefusals(t *testing.T) {
	codes := []spawner.RefusalCode{
		spawner.RefusedWorldName, spawner.RefusedNoWorld, spawner.RefusedWorldAmbiguous, spawner.RefusedNoBackup,
		spawner.RefusedWorldRunning, spawner.RefusedWorldBusy, spawner.RefusedNoWorldGame, spawner.RefusedNoDownload,
		spawner.RefusedWorldsOff, spawner.RefusedWorldLive,
	}
	for _, l := range []Lang{En, Fr} {
		seen := map[string]spawner.RefusalCode{}
		for _, code := range codes {
			r := &spawner.Refusal{Code: code, Name: "x"}
			got := l.Refusal(r)
			if got == l.Refusal(&spawner.Refusal{}) || strings.Contains(got, "<@") || strings.Contains(got, "<t:") {
				t.Errorf("%v: refusal %d = %q, want a sentence of its own without markup", l, code, got)
			}
			if other, dup := seen[got]; dup {
				t.Errorf("%v: refusals %d and %d say the same %q", l, other, code, got)
			}
			seen[got] = code
			if r.Error() == "refused" {
				t.Errorf("refusal %d has no error text of its own", code)
			}
		}
	}
	// A world the bot cannot name (a Wake button's, gone or not the
	// member's) is named by nothing, in each language.
	for l, want := range map[Lang]string{En: "That world does not exist, or is not yours", Fr: "Ce monde n'existe pas, ou n'est pas à toi"} {
		if got := l.Refusal(&spawner.Refusal{Code: spawner.RefusedNoWorld}); !strings.Contains(got, want) || strings.Contains(got, "``") {
			t.Errorf("%v: an unnamed world refused with %q, want %q", l, got, want)
		}
	}
	for name, want := range map[string]string{
		"":                      "it is empty",
		strings.Repeat("a", 40): "it has 40 characters, 32 at most are allowed",
		"Survival":              `"S" is a capital letter`,
		"my world":              "contains a space",
		"a`b":                   "a character that is not allowed",
		"été":                   `"é" is not allowed`,
	} {
		if got := En.Refusal(&spawner.Refusal{Code: spawner.RefusedWorldName, Name: name}); !strings.Contains(got, want) {
			t.Errorf("world name %q refused with %q, want %q", name, got, want)
		}
	}
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		n      int64
		en, fr string
	}{
		{0, "0 B", "0 o"},
		{1023, "1023 B", "1023 o"},
		{1536, "1.5 KiB", "1,5 Kio"},
		{700 << 20, "700 MiB", "700 Mio"},
		{1288490189, "1.2 GiB", "1,2 Gio"},
		{3 << 40, "3.0 TiB", "3,0 Tio"},
	} {
		if got := En.Size(c.n); got != c.en {
			t.Errorf("En.Size(%d) = %q, want %q", c.n, got, c.en)
		}
		if got := Fr.Size(c.n); got != c.fr {
			t.Errorf("Fr.Size(%d) = %q, want %q", c.n, got, c.fr)
		}
	}
}

// The sentences of /world refer to moments and members through references
// the adapter renders, and every one is translated.
func TestWorldSentences(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 30, 0, 0, time.UTC)
	w := spawner.WorldInfo{World: spawner.World{ID: "w1", Owner: "42", Game: "valheim", Name: "survival", State: spawner.WorldAsleep,
		Size: 700 << 20, LastPlayed: at}, Backups: 2}
	b := spawner.Backup{ID: "b1", Time: at, Size: 600 << 20, ContentSize: 1 << 30, SHA256: "abc", Reason: spawner.BackupStop}
	title := func(string) string { return "Valheim" }
	say := func(l Lang) []string {
		return []string{
			l.WorldList([]spawner.WorldInfo{w}, title, true), l.WorldList(nil, title, false), l.WorldsOff(), l.WorldsFailed(),
			l.WorldBackedUp(w.World, "Valheim", b), l.WorldBackupFailed(w.World, "Valheim"),
			l.WorldDownload(w.World, "Valheim", b, "https://x/y", at), l.WorldDownloadShort("https://x/y", at),
			l.WorldRestoreConfirm(w.World, "Valheim", b, at), l.WorldDeleteConfirm(w, "Valheim", true, at),
			l.WorldRestoring(w.World, "Valheim"), l.WorldRestored(w.World, "Valheim", b, b), l.WorldRestoreFailed(w.World, "Valheim"),
			l.WorldDeleting(w.World, "Valheim"), l.WorldDeleted(w.World, "Valheim"), l.WorldDeleteFailed(w.World, "Valheim"),
			l.ConfirmCancelled(), l.ConfirmExpired(), l.ConfirmUsed(), l.ConfirmNotYours(),
			l.WorldRestoreButton(), l.WorldDeleteButton(), l.CancelButton(),
			l.WorldChoice(w, "Valheim", "alice"), l.NewWorldChoice("new"), l.BackupChoice(b),
		}
	}
	en, fr := say(En), say(Fr)
	for i := range en {
		if en[i] == fr[i] {
			t.Errorf("sentence %d is not translated: %q", i, en[i])
		}
		for _, s := range []string{en[i], fr[i]} {
			if strings.Contains(s, "<t:") || strings.Contains(s, "<@") || strings.Contains(s, "<http") {
				t.Errorf("sentence %d carries chat markup: %q", i, s)
			}
		}
	}
	if got := En.WorldList([]spawner.WorldInfo{w}, title, true); !strings.Contains(got, Mention("42")) ||
		!strings.Contains(got, Timestamp(at, spawner.TimeRelative)) {
		t.Errorf("an admin's list %q, want the owner and the last play as references", got)
	}
	if got := En.WorldDownload(w.World, "Valheim", b, "https://x/y", at); !strings.Contains(got, spawner.LinkRef("https://x/y")) {
		t.Errorf("download %q, want the link as a reference", got)
	}
	for _, l := range []Lang{En, Fr} {
		if len(l.WorldRestoreButton()) > 80 || len(l.WorldDeleteButton()) > 80 || len(l.CancelButton()) > 80 {
			t.Errorf("%v: a button label is over Discord's 80 characters", l)
		}
	}
}

// The sentences of a world's life name the world in both languages, and
// the failed backup's log line says why.
func TestWorldLifeSentences(t *testing.T) {
	w := spawner.World{Name: "survie", Owner: "100", Game: "paper"}
	for _, l := range []Lang{En, Fr} {
		for _, s := range []string{
			l.StatusWorld("survie"), l.WorldSavedAtEnd("survie", 3<<20), l.WorldSaveFailedAtEnd("survie"),
			l.LogWorldBackupFailed(w, true, "", "disk full"), l.LogWorldBackupFailed(w, false, "200", "disk full"),
			l.LogWorldAddressChanged(w, "h:1", "h:2"), l.LogWorldPortTaken(w, "h:1"),
		} {
			if !strings.Contains(s, "`survie`") {
				t.Errorf("%v: %q does not name the world", l, s)
			}
		}
		if s := l.LogWorldBackupFailed(w, true, "", "disk full"); !strings.Contains(s, "disk full") {
			t.Errorf("%v: %q does not say why", l, s)
		}
		if l.FailWorld() == "" || l.WorldSaveFailedAtEnd("x") == En.WorldSaveFailedAtEnd("x") && l == Fr {
			t.Errorf("%v: a sentence is missing or untranslated", l)
		}
	}
}

// An asleep world keeps its address: the list shows it, and the
// sentences of a lost port name the addresses, in both languages.
func TestWorldAddressSentences(t *testing.T) {
	w := spawner.World{Name: "survie", Owner: "100", Game: "paper", State: spawner.WorldAsleep}
	title := func(string) string { return "Paper" }
	for _, l := range []Lang{En, Fr} {
		asleep := spawner.WorldInfo{World: w, Address: "games.example.org:25570"}
		if got := l.WorldList([]spawner.WorldInfo{asleep}, title, false); !strings.Contains(got, l.WorldState(spawner.WorldAsleep)+" games.example.org:25570") {
			t.Errorf("%v: list %q, want the asleep world's address", l, got)
		}
		stored := asleep
		stored.State = spawner.WorldStored
		if got := l.WorldList([]spawner.WorldInfo{stored}, title, false); strings.Contains(got, "25570") {
			t.Errorf("%v: list %q shows an address for a stored world", l, got)
		}
		if got := l.WorldAddressChanged("games.example.org:25570"); !strings.Contains(got, "`games.example.org:25570`") {
			t.Errorf("%v: %q does not name the old address", l, got)
		}
		if got := l.LogWorldAddressChanged(w, "h:1", "h:2"); !strings.Contains(got, "`h:1`") || !strings.Contains(got, "`h:2`") || !strings.Contains(got, Mention("100")) {
			t.Errorf("%v: %q does not name both addresses and the owner", l, got)
		}
		if got := l.LogWorldPortTaken(w, "h:1"); !strings.Contains(got, "`h:1`") {
			t.Errorf("%v: %q does not name the port", l, got)
		}
	}
	if En.WorldAddressChanged("x") == Fr.WorldAddressChanged("x") || En.LogWorldPortTaken(w, "x") == Fr.LogWorldPortTaken(w, "x") {
		t.Error("the address sentences are not translated")
	}
}
