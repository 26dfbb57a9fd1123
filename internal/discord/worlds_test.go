package discord_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
)

// worldsFake is the lifecycle's side of /world. Worlds returns every world
// to anyone, as a careless lifecycle would, so the tests prove the adapter
// never shows a member another's world; the actions call the function
// fields, which tests set, and are recorded.
type worldsFake struct {
	all     []spawner.WorldInfo
	backups map[string][]spawner.Backup // by world id, oldest first: the adapter sorts them

	backupNow func(by spawner.Actor, worldID string) (spawner.Backup, error)
	link      func(by spawner.Actor, worldID, backupID string) (string, time.Time, error)
	restore   func(ctx context.Context, by spawner.Actor, worldID, backupID string) (spawner.Backup, error)
	delete    func(ctx context.Context, by spawner.Actor, worldID string) error

	mu    sync.Mutex
	calls []string
}

var _ discord.WorldControl = (*worldsFake)(nil)

func (f *worldsFake) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// called returns the recorded calls that start with prefix.
func (f *worldsFake) called(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (f *worldsFake) Worlds(context.Context, spawner.Actor) ([]spawner.WorldInfo, error) {
	return slices.Clone(f.all), nil
}

func (f *worldsFake) Backups(_ context.Context, _ spawner.Actor, worldID string) ([]spawner.Backup, error) {
	return slices.Clone(f.backups[worldID]), nil
}

func (f *worldsFake) BackupNow(_ context.Context, by spawner.Actor, worldID string) (spawner.Backup, error) {
	f.record(fmt.Sprintf("backup %s by %s", worldID, by.UserID))
	return f.backupNow(by, worldID)
}

func (f *worldsFake) DownloadLink(_ context.Context, by spawner.Actor, worldID, backupID string) (string, time.Time, error) {
	f.record(fmt.Sprintf("download %s %s by %s", worldID, backupID, by.UserID))
	return f.link(by, worldID, backupID)
}

func (f *worldsFake) Restore(ctx context.Context, by spawner.Actor, worldID, backupID string) (spawner.Backup, error) {
	f.record(fmt.Sprintf("restore %s %s by %s", worldID, backupID, by.UserID))
	return f.restore(ctx, by, worldID, backupID)
}

func (f *worldsFake) Delete(ctx context.Context, by spawner.Actor, worldID string) error {
	f.record(fmt.Sprintf("delete %s by %s", worldID, by.UserID))
	return f.delete(ctx, by, worldID)
}

var (
	valheim = spawner.Game{Name: "valheim", Title: "Valheim", Variants: []spawner.Variant{{Name: "vanilla"}}}
	paper   = spawner.Game{Name: "paper", Title: "Paper", Variants: []spawner.Variant{{Name: "official"}}}

	worldsNow = time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
	alice     = member(1, fakediscord.DefaultUserRoleID)
	bob       = member(2, fakediscord.DefaultUserRoleID)
	admin     = member(3, fakediscord.DefaultAdminRoleID)
)

// newWorlds returns a fake with Alice's two Valheim and Paper worlds, both
// called survival, her creative Paper world, and Bob's running Valheim world.
func newWorlds() *worldsFake {
	w := func(id, owner, game, name string, state spawner.WorldState, size int64, played time.Duration, backups int) spawner.WorldInfo {
		return spawner.WorldInfo{World: spawner.World{
			ID: id, Owner: owner, Game: game, Name: name, State: state, Size: size, LastPlayed: worldsNow.Add(-played),
		}, Backups: backups}
	}
	bobs := w("w-bob", bob.ID, "valheim", "secret-base", spawner.WorldRunning, 3<<30, time.Hour, 1)
	bobs.Address = "203.0.113.9:2456"
	bk := func(world, id string, ago time.Duration, size int64, why spawner.BackupReason) spawner.Backup {
		return spawner.Backup{ID: id, WorldID: world, Time: worldsNow.Add(-ago), Size: size, ContentSize: 2 * size,
			SHA256: strings.Repeat("ab", 32), Reason: why}
	}
	return &worldsFake{
		all: []spawner.WorldInfo{
			w("w-alice-paper", alice.ID, "paper", "survival", spawner.WorldStored, 20<<20, 72*time.Hour, 1),
			w("w-alice-valheim", alice.ID, "valheim", "survival", spawner.WorldAsleep, 700<<20, 2*time.Hour, 3),
			w("w-alice-creative", alice.ID, "paper", "creative", spawner.WorldAsleep, 5<<20, 24*time.Hour, 0),
			bobs,
		},
		backups: map[string][]spawner.Backup{
			"w-alice-valheim": {
				bk("w-alice-valheim", "b-old", 72*time.Hour, 600<<20, spawner.BackupManual),
				bk("w-alice-valheim", "b-mid", 24*time.Hour, 650<<20, spawner.BackupStop),
				bk("w-alice-valheim", "b-new", 2*time.Hour, 700<<20, spawner.BackupStop),
			},
			"w-bob": {bk("w-bob", "b-bob", time.Hour, 3<<30, spawner.BackupStop)},
		},
		backupNow: func(spawner.Actor, string) (spawner.Backup, error) {
			return spawner.Backup{ID: "b-now", Time: worldsNow, Size: 710 << 20, ContentSize: 1 << 30, Reason: spawner.BackupManual}, nil
		},
		link: func(_ spawner.Actor, worldID, backupID string) (string, time.Time, error) {
			return "https://bot.example.org/worlds/" + worldID + "/backups/" + backupID + ".tar.gz?token=t0k", worldsNow.Add(15 * time.Minute), nil
		},
		restore: func(context.Context, spawner.Actor, string, string) (spawner.Backup, error) {
			return spawner.Backup{ID: "b-before", Time: worldsNow, Reason: spawner.BackupBeforeRestore}, nil
		},
		delete: func(context.Context, spawner.Actor, string) error { return nil },
	}
}

// clock is a time the test moves.
type clock struct{ at atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)     { c.at.Store(&t) }
func (c *clock) now() time.Time      { return *c.at.Load() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

// worldBot opens a bot that keeps worlds, served by w, on a fresh fake
// Discord, with its clock at worldsNow.
func worldBot(t *testing.T, w *worldsFake) (*fakediscord.Server, *fleet, *clock) {
	t.Helper()
	srv := fakediscord.New(t, fakediscord.Options{})
	clk := newClock(worldsNow)
	b := newBot(t, srv, func(c *discord.Config) { c.Now = clk.now })
	if w != nil {
		b.ServeWorlds(w)
	}
	f := &fleet{catalog: spawner.Catalog{minecraft, valheim, paper}}
	openBot(t, b, f)
	return srv, f, clk
}

func choiceValues(r fakediscord.Response) []string {
	var out []string
	for _, c := range r.Choices {
		out = append(out, fmt.Sprint(c.Value))
	}
	return out
}

// /world and the world option of /server create are registered, in French
// too, only when the bot keeps worlds; without them a /world left from an
// earlier start says so.
func TestWorldCommandsRegisteredOnlyWithWorlds(t *testing.T) {
	t.Parallel()
	srv, _, _ := worldBot(t, newWorlds())
	subs := map[string]string{}
	var createOpts []string
	for _, c := range srv.CommandsIn(fakediscord.DefaultGuildID) {
		for _, o := range c.Options {
			if c.Name == "world" {
				subs[o.Name] = o.NameLocalizations["fr"]
			}
			if c.Name == "server" && o.Name == "create" {
				for _, co := range o.Options {
					createOpts = append(createOpts, co.Name)
				}
			}
		}
	}
	want := map[string]string{"list": "liste", "backup": "sauvegarder", "download": "télécharger", "restore": "restaurer", "delete": "supprimer"}
	for en, fr := range want {
		if subs[en] != fr {
			t.Errorf("/world subcommands and their French names = %v, want %v", subs, want)
			break
		}
	}
	if !slices.Contains(createOpts, "world") {
		t.Errorf("/server create options %v, want world", createOpts)
	}

	srv, _, _ = worldBot(t, nil)
	for _, c := range srv.CommandsIn(fakediscord.DefaultGuildID) {
		if c.Name == "world" {
			t.Error("/world registered by a bot that keeps no worlds")
		}
		for _, o := range c.Options {
			for _, co := range o.Options {
				if co.Name == "world" {
					t.Errorf("/%s %s has a world option on a bot that keeps no worlds", c.Name, o.Name)
				}
			}
		}
	}
	ix := srv.Command(alice, "en-US", []string{"world", "list"}, nil)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || !strings.Contains(r.Content, "keeps no worlds") {
		t.Errorf("/world on a bot without worlds answered %+v", r)
	}
}

// /world list: a member reads their own worlds only, with game, state,
// size, last played as a Discord timestamp and the number of backups; an
// admin reads every world with its owner.
func TestWorldList(t *testing.T) {
	t.Parallel()
	srv, _, _ := worldBot(t, newWorlds())

	ix := srv.Command(alice, "en-US", []string{"world", "list"}, nil)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || r.Late {
		t.Fatalf("/world list answered %+v, want an ephemeral answer in time", r)
	}
	got := ix.WaitEdit(t, wait, nil).Text()
	lines := strings.Split(got, "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "3 world(s)") {
		t.Fatalf("Alice's list:\n%s\nwant a header and her 3 worlds", got)
	}
	// Most recently played first.
	played := fmt.Sprintf("<t:%d:R>", worldsNow.Add(-2*time.Hour).Unix())
	for _, want := range []string{"**survival** (Valheim)", "asleep", "700 MiB", "last played " + played, "3 backups"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("first line %q lacks %q", lines[1], want)
		}
	}
	if !strings.Contains(lines[2], "**creative** (Paper)") || !strings.Contains(lines[2], "no backup") {
		t.Errorf("second line %q, want her creative world without backups", lines[2])
	}
	if !strings.Contains(lines[3], "stored") || !strings.Contains(lines[3], "1 backup") {
		t.Errorf("third line %q, want her stored world with 1 backup", lines[3])
	}
	if strings.Contains(got, "secret-base") || strings.Contains(got, "<@") {
		t.Errorf("a member's list shows another's world or owners:\n%s", got)
	}

	ix = srv.Command(admin, "fr", []string{"world", "list"}, nil)
	got = ix.WaitEdit(t, wait, nil).Text()
	if !strings.Contains(got, "4 monde(s)") || !strings.Contains(got, "**secret-base** (Valheim) · <@"+bob.ID+"> · lancé 203.0.113.9:2456") {
		t.Errorf("the admin's list:\n%s\nwant every world with its owner, Bob's running one with its address", got)
	}
}

// The world option of /world completes with the member's own worlds (an
// admin's with everyone's), and the backup option with the chosen world's
// backups, newest first, with their date and size.
func TestWorldAutocompleteIsScoped(t *testing.T) {
	t.Parallel()
	srv, _, _ := worldBot(t, newWorlds())
	for _, sub := range []string{"backup", "download", "restore", "delete"} {
		r := srv.Autocomplete(alice, "en-US", []string{"world", sub}, nil, "world").WaitResponse(t, wait)
		if got := choiceValues(r); !slices.Equal(got, []string{"w-alice-valheim", "w-alice-creative", "w-alice-paper"}) {
			t.Errorf("/world %s world: Alice is offered %v, want her three worlds, last played first", sub, got)
		}
	}
	r := srv.Autocomplete(bob, "en-US", []string{"world", "delete"}, map[string]any{"world": "surv"}, "world").WaitResponse(t, wait)
	if len(r.Choices) != 0 {
		t.Errorf("Bob typing surv is offered %v: Alice's worlds", choiceValues(r))
	}
	r = srv.Autocomplete(admin, "en-US", []string{"world", "delete"}, map[string]any{"world": "valheim"}, "world").WaitResponse(t, wait)
	if got := choiceValues(r); !slices.Equal(got, []string{"w-bob", "w-alice-valheim"}) {
		t.Errorf("the admin typing valheim is offered %v, want both Valheim worlds", got)
	}

	r = srv.Autocomplete(alice, "en-US", []string{"world", "restore"}, map[string]any{"world": "w-alice-valheim"}, "backup").WaitResponse(t, wait)
	if got := choiceValues(r); !slices.Equal(got, []string{"b-new", "b-mid", "b-old"}) {
		t.Errorf("backups offered %v, want newest first", got)
	}
	if len(r.Choices) > 0 && r.Choices[0].Name != "2026-12-07 16:00 UTC · 700 MiB · at a stop" {
		t.Errorf("newest backup's label %q, want its date, size and reason", r.Choices[0].Name)
	}
	// A world id typed or forged: not Alice's, so no backups.
	r = srv.Autocomplete(alice, "en-US", []string{"world", "download"}, map[string]any{"world": "w-bob"}, "backup").WaitResponse(t, wait)
	if len(r.Choices) != 0 {
		t.Errorf("Alice is offered the backups of Bob's world: %v", choiceValues(r))
	}
}

// /server create world: completes with the member's worlds of the chosen
// game and the new name typed; the name reaches the creation request; a
// name that is not one is refused, naming the problem, and nothing is
// created.
func TestCreateWorldOption(t *testing.T) {
	t.Parallel()
	srv, f, _ := worldBot(t, newWorlds())

	r := srv.Autocomplete(alice, "en-US", []string{"server", "create"}, map[string]any{"game": "paper"}, "world").WaitResponse(t, wait)
	if got := choiceValues(r); !slices.Equal(got, []string{"creative", "survival"}) {
		t.Errorf("Alice's Paper worlds offered: %v, want creative and survival", got)
	}
	r = srv.Autocomplete(alice, "en-US", []string{"server", "create"}, map[string]any{"game": "paper", "world": "skyblock"}, "world").WaitResponse(t, wait)
	if got := choiceValues(r); !slices.Equal(got, []string{"skyblock"}) || r.Choices[0].Name != "skyblock · new world" {
		t.Errorf("a new name typed is offered as %+v", r.Choices)
	}
	r = srv.Autocomplete(bob, "en-US", []string{"server", "create"}, map[string]any{"game": "paper"}, "world").WaitResponse(t, wait)
	if len(r.Choices) != 0 {
		t.Errorf("Bob is offered %v for Paper: he has no Paper world", choiceValues(r))
	}

	ix := srv.Command(alice, "en-US", []string{"server", "create"}, map[string]any{"game": "valheim", "world": "survival"})
	ix.WaitResponse(t, wait)
	srv.WaitFor(t, "the creation", wait, func() bool { return len(f.created()) == 1 })
	if req := f.created()[0]; req.World != "survival" || req.Game != "valheim" {
		t.Errorf("creation request %+v, want world survival of valheim", req)
	}

	for _, c := range []struct{ name, want string }{
		{"Survival", `"S" is a capital letter`},
		{"my world", "contains a space"},
		{strings.Repeat("a", 33), "33 characters, 32 at most"},
		{"café", `"é" is not allowed`},
	} {
		ix := srv.Command(alice, "en-US", []string{"server", "create"}, map[string]any{"game": "valheim", "world": c.name})
		r := ix.WaitResponse(t, wait)
		if !r.Ephemeral() || !strings.Contains(r.Content, "is not a world name") || !strings.Contains(r.Content, c.want) {
			t.Errorf("world %q answered %q, want a refusal saying %s", c.name, r.Content, c.want)
		}
	}
	if n := len(f.created()); n != 1 {
		t.Errorf("%d creations, want only the valid one", n)
	}
}

// /world backup and /world download: the answer names the world and its
// new backup, and the download the newest backup by default, with its link,
// when the link stops working, and the archive's SHA-256.
func TestWorldBackupAndDownload(t *testing.T) {
	t.Parallel()
	w := newWorlds()
	srv, _, _ := worldBot(t, w)

	ix := srv.Command(alice, "en-US", []string{"world", "backup"}, map[string]any{"world": "w-alice-valheim"})
	got := ix.WaitEdit(t, wait, nil).Text()
	if !strings.Contains(got, "World **survival** (Valheim) backed up: 710 MiB, 1.0 GiB of content") {
		t.Errorf("/world backup answered %q", got)
	}
	if calls := w.called("backup"); !slices.Equal(calls, []string{"backup w-alice-valheim by " + alice.ID}) {
		t.Errorf("backups taken: %v", calls)
	}

	ix = srv.Command(alice, "fr", []string{"world", "download"}, map[string]any{"world": "w-alice-valheim"})
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() {
		t.Errorf("the download link is not private: %+v", r)
	}
	got = ix.WaitEdit(t, wait, nil).Text()
	expires := worldsNow.Add(15 * time.Minute).Unix()
	for _, want := range []string{
		"<https://bot.example.org/worlds/w-alice-valheim/backups/b-new.tar.gz?token=t0k>",
		fmt.Sprintf("jusqu'à <t:%d:t> (<t:%d:R>)", expires, expires),
		"SHA-256 : `" + strings.Repeat("ab", 32) + "`",
		"700 Mio",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/world download answered %q, want %q in it", got, want)
		}
	}

	// A world typed by its name, and an older backup.
	ix = srv.Command(alice, "en-US", []string{"world", "download"}, map[string]any{"world": "creative"})
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "This world has no backup yet") {
		t.Errorf("download of a world without backups answered %q", got)
	}
	ix = srv.Command(alice, "en-US", []string{"world", "download"}, map[string]any{"world": "survival"})
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "several worlds called `survival`") {
		t.Errorf("download of an ambiguous name answered %q", got)
	}
	ix = srv.Command(bob, "en-US", []string{"world", "download"}, map[string]any{"world": "w-alice-valheim", "backup": "b-old"})
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "You have no world called `w-alice-valheim`") {
		t.Errorf("Bob downloading Alice's world was answered %q", got)
	}
	if calls := w.called("download"); !slices.Equal(calls, []string{"download w-alice-valheim b-new by " + alice.ID}) {
		t.Errorf("download links made: %v, want only Alice's newest", calls)
	}

	// A failure the member cannot act on says so without its detail.
	w.link = func(spawner.Actor, string, string) (string, time.Time, error) {
		return "", time.Time{}, errors.New("s3 presign: secret detail")
	}
	ix = srv.Command(alice, "en-US", []string{"world", "download"}, map[string]any{"world": "w-alice-valheim", "backup": "b-mid"})
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "That did not work") || strings.Contains(got, "secret") {
		t.Errorf("a failed link answered %q", got)
	}
}

// confirmation runs /world <sub> as user and returns the confirmation
// message and its danger and cancel buttons' custom ids.
func confirmation(t *testing.T, srv *fakediscord.Server, user fakediscord.User, sub string, opts map[string]any) (fakediscord.Message, string, string) {
	t.Helper()
	ix := srv.Command(user, "en-US", []string{"world", sub}, opts)
	if r := ix.WaitResponse(t, wait); !r.Ephemeral() || r.Late {
		t.Fatalf("/world %s answered %+v, want an ephemeral answer in time", sub, r)
	}
	m := ix.WaitEdit(t, wait, func(m fakediscord.Message) bool { return len(m.Buttons()) > 0 })
	var yes, no string
	for _, b := range m.Buttons() {
		switch b.Style {
		case fakediscord.ButtonDanger:
			yes = b.CustomID
		case fakediscord.ButtonSecondary:
			no = b.CustomID
		}
	}
	if yes == "" || no == "" {
		t.Fatalf("confirmation %q has buttons %+v, want a danger one and a cancel one", m.Text(), m.Buttons())
	}
	return m, yes, no
}

// /world restore asks for a confirmation only its member can click; the
// click restores once, says so by updating the confirmation, whose buttons
// go.
func TestWorldRestoreConfirmed(t *testing.T) {
	t.Parallel()
	w := newWorlds()
	srv, _, _ := worldBot(t, w)

	m, yes, _ := confirmation(t, srv, alice, "restore", map[string]any{"world": "w-alice-valheim", "backup": "b-mid"})
	for _, want := range []string{"Restore world **survival** (Valheim)", fmt.Sprintf("<t:%d:f>", worldsNow.Add(-24*time.Hour).Unix()), "backed up first",
		fmt.Sprintf("Confirm <t:%d:R>", worldsNow.Add(5*time.Minute).Unix())} {
		if !strings.Contains(m.Text(), want) {
			t.Errorf("confirmation %q lacks %q", m.Text(), want)
		}
	}
	if err := srv.CanClick(bob, m.ChannelID, m.ID, yes); err == nil {
		t.Error("Bob can click Alice's confirmation")
	}
	if calls := w.called("restore"); len(calls) != 0 {
		t.Fatalf("restored before the click: %v", calls)
	}

	click := srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	r := click.WaitResponse(t, wait)
	if r.Type != fakediscord.ResponseUpdateMessage || len(r.Buttons()) != 0 || !strings.Contains(r.Content, "Restoring world **survival**") {
		t.Errorf("the click was answered %+v, want the confirmation updated, saying it restores, without buttons", r)
	}
	done := click.WaitEdit(t, wait, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "restored") })
	if want := fmt.Sprintf("World **survival** (Valheim) restored to its backup from <t:%d:f>. What it held before is the backup from <t:%d:f>",
		worldsNow.Add(-24*time.Hour).Unix(), worldsNow.Unix()); !strings.Contains(done.Text(), want) {
		t.Errorf("outcome %q, want %q", done.Text(), want)
	}
	if calls := w.called("restore"); !slices.Equal(calls, []string{"restore w-alice-valheim b-mid by " + alice.ID}) {
		t.Errorf("restores: %v, want one of b-mid by Alice", calls)
	}
	if err := srv.CanClick(alice, m.ChannelID, m.ID, yes); err == nil {
		t.Error("the confirmation can be clicked again once answered")
	}
}

// Cancel changes nothing; a confirmation clicked after its life changes
// nothing either, and says so.
func TestWorldDeleteCancelledOrExpired(t *testing.T) {
	t.Parallel()
	w := newWorlds()
	srv, _, clk := worldBot(t, w)

	m, _, no := confirmation(t, srv, admin, "delete", map[string]any{"world": "w-bob"})
	if !strings.Contains(m.Text(), "Delete world **secret-base** (Valheim) of <@"+bob.ID+"> with its 1 backup(s)? This cannot be undone") {
		t.Errorf("the admin's confirmation %q, want the world, its owner and its backups named", m.Text())
	}
	click := srv.Click(admin, "en-US", m.ChannelID, m.ID, no)
	if r := click.WaitResponse(t, wait); r.Type != fakediscord.ResponseUpdateMessage || len(r.Buttons()) != 0 || !strings.Contains(r.Content, "Cancelled") {
		t.Errorf("cancel answered %+v", r)
	}

	m, yes, _ := confirmation(t, srv, alice, "delete", map[string]any{"world": "w-alice-creative"})
	clk.add(5*time.Minute + time.Second)
	click = srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	if r := click.WaitResponse(t, wait); r.Type != fakediscord.ResponseUpdateMessage || len(r.Buttons()) != 0 || !strings.Contains(r.Content, "expired") {
		t.Errorf("a late click answered %+v", r)
	}

	clk.set(worldsNow)
	m, yes, _ = confirmation(t, srv, alice, "delete", map[string]any{"world": "w-alice-creative"})
	clk.add(4 * time.Minute)
	click = srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	click.WaitEdit(t, wait, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "deleted, with its backups") })
	if calls := w.called("delete"); !slices.Equal(calls, []string{"delete w-alice-creative by " + alice.ID}) {
		t.Errorf("deletions: %v, want only the one confirmed in time", calls)
	}
}

// A second click that arrives before the first one's answer (here held by
// a rate limit on the callback) is refused: the action runs once.
func TestWorldConfirmSecondClickRefused(t *testing.T) {
	t.Parallel()
	w := newWorlds()
	srv, _, _ := worldBot(t, w)
	m, yes, _ := confirmation(t, srv, alice, "delete", map[string]any{"world": "w-alice-creative"})

	const callback = "POST /interactions/{id}/{token}/callback"
	srv.RateLimitNext("POST", "/interactions/{id}/{token}/callback", 1, time.Second)
	first := srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	srv.WaitFor(t, "the first click's held answer", wait, func() bool { return slices.Contains(statuses(srv, callback), http.StatusTooManyRequests) })
	second := srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	if r := second.WaitResponse(t, wait); !r.Ephemeral() || !strings.Contains(r.Content, "already answered") {
		t.Errorf("the second click was answered %+v", r)
	}
	first.WaitEdit(t, wait, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "deleted") })
	if calls := w.called("delete"); len(calls) != 1 {
		t.Errorf("deletions: %v, want one", calls)
	}
}

// A restore of a world whose server runs is refused before any
// confirmation; a refusal of the lifecycle after the click is shown.
func TestWorldRestoreRefusals(t *testing.T) {
	t.Parallel()
	w := newWorlds()
	srv, _, _ := worldBot(t, w)

	ix := srv.Command(bob, "en-US", []string{"world", "restore"}, map[string]any{"world": "w-bob", "backup": "b-bob"})
	got := ix.WaitEdit(t, wait, nil)
	if len(got.Buttons()) != 0 || !strings.Contains(got.Text(), "A server of world `secret-base` is running") {
		t.Errorf("restore of a running world answered %q with buttons %v", got.Text(), got.Buttons())
	}
	ix = srv.Command(alice, "en-US", []string{"world", "restore"}, map[string]any{"world": "w-alice-valheim", "backup": "nope"})
	if got := ix.WaitEdit(t, wait, nil).Text(); !strings.Contains(got, "no backup `nope`") {
		t.Errorf("restore of an unknown backup answered %q", got)
	}

	w.restore = func(context.Context, spawner.Actor, string, string) (spawner.Backup, error) {
		return spawner.Backup{}, &spawner.Refusal{Code: spawner.RefusedWorldBusy, Name: "survival"}
	}
	m, yes, _ := confirmation(t, srv, alice, "restore", map[string]any{"world": "w-alice-valheim", "backup": "b-old"})
	click := srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	click.WaitEdit(t, wait, func(m fakediscord.Message) bool {
		return strings.Contains(m.Text(), "World `survival` is being backed up, restored or deleted right now")
	})
	if calls := w.called("restore"); len(calls) != 1 {
		t.Errorf("restores asked: %v, want the one confirmed", calls)
	}
}

// The lifecycle is given worlds by their ids, and its refusals name a
// world by what it was given: the member reads the world's name, whether
// they picked the world from the list (its id) or typed its name, never
// its id.
func TestWorldRefusalsNameTheWorld(t *testing.T) {
	t.Parallel()
	w := newWorlds()
	gone := func(worldID string) error { return &spawner.Refusal{Code: spawner.RefusedNoWorld, Name: worldID} }
	w.backupNow = func(_ spawner.Actor, worldID string) (spawner.Backup, error) { return spawner.Backup{}, gone(worldID) }
	w.link = func(_ spawner.Actor, worldID, _ string) (string, time.Time, error) {
		return "", time.Time{}, gone(worldID)
	}
	w.restore = func(_ context.Context, _ spawner.Actor, worldID, _ string) (spawner.Backup, error) {
		return spawner.Backup{}, gone(worldID)
	}
	w.delete = func(_ context.Context, _ spawner.Actor, worldID string) error { return gone(worldID) }
	srv, _, _ := worldBot(t, w)
	expect := func(what, got, name, id string) {
		t.Helper()
		if !strings.Contains(got, "You have no world called `"+name+"`") || strings.Contains(got, id) {
			t.Errorf("%s answered %q, want world %q named, never its id %q", what, got, name, id)
		}
	}

	ix := srv.Command(alice, "en-US", []string{"world", "backup"}, map[string]any{"world": "w-alice-valheim"})
	expect("/world backup of a world picked from the list", ix.WaitEdit(t, wait, nil).Text(), "survival", "w-alice-valheim")
	ix = srv.Command(alice, "en-US", []string{"world", "backup"}, map[string]any{"world": "creative"})
	expect("/world backup of a world typed by its name", ix.WaitEdit(t, wait, nil).Text(), "creative", "w-alice-creative")
	ix = srv.Command(alice, "en-US", []string{"world", "download"}, map[string]any{"world": "w-alice-valheim"})
	expect("/world download", ix.WaitEdit(t, wait, nil).Text(), "survival", "w-alice-valheim")

	outcome := func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "no world") }
	m, yes, _ := confirmation(t, srv, alice, "restore", map[string]any{"world": "w-alice-valheim", "backup": "b-mid"})
	click := srv.Click(alice, "en-US", m.ChannelID, m.ID, yes)
	expect("a confirmed /world restore", click.WaitEdit(t, wait, outcome).Text(), "survival", "w-alice-valheim")
	m, yes, _ = confirmation(t, srv, admin, "delete", map[string]any{"world": "w-bob"})
	click = srv.Click(admin, "en-US", m.ChannelID, m.ID, yes)
	expect("an admin's confirmed /world delete of Bob's world", click.WaitEdit(t, wait, outcome).Text(), "secret-base", "w-bob")
}
