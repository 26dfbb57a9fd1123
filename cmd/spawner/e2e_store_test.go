package main

// The embedded store as an operator meets it: a readiness probe that
// answers while members create and stop servers, and a damaged spawner.db
// (a copy cut short, bytes overwritten) that `spawner run` and `spawner
// check` refuse with what to do, leaving the file as it is.

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakediscord"
	"github.com/mineral-contest/spawner/internal/testworld/storefile"
)

// embeddedEnv puts a world's daemon on the embedded store in dir.
func embeddedEnv(dir string) map[string]string {
	return map[string]string{
		"AWS_DYNAMODB_TABLE_NAME": "",
		"DYNAMODB_CREATE_TABLE":   "",
		"SPAWNER_DATA_DIR":        dir,
	}
}

// TestDamagedStoreRefused: for each damage, `spawner run` exits before it
// connects anywhere and `spawner check` reports the problem, both naming
// SPAWNER_DATA_DIR, the file and what to do; the file's bytes are the
// same afterwards, and once it is moved aside, check is all good.
func TestDamagedStoreRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{env: embeddedEnv(filepath.Join(t.TempDir(), "unused"))})
	for _, d := range storefile.Damages {
		t.Run(d.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := storefile.Filled(t, dir)
			d.Apply(t, path)
			before := storefile.Hash(t, path)
			says := []string{path + " is damaged", "left as it is", "restore a copy of spawner.db taken while spawner was stopped", "move the damaged file aside"}

			stderr, _, done := startRun(t, w, map[string]string{"SPAWNER_DATA_DIR": dir})
			err := runResult(t, done, stderr)
			if err == nil || exitCode(err) != 1 {
				t.Errorf("spawner run = %v (exit %d), want exit 1", err, exitCode(err))
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "spawner: SPAWNER_DATA_DIR: ") {
				t.Errorf("spawner run's last line does not name SPAWNER_DATA_DIR: %q", last)
			}
			for _, part := range says {
				if !strings.Contains(last, part) {
					t.Errorf("spawner run's last line does not say %q:\n%s", part, last)
				}
			}

			r := checkRunEnv(t, w, map[string]string{"SPAWNER_DATA_DIR": dir})
			checkExpect(t, w, r, []checkWant{{"SPAWNER_DATA_DIR", says}})

			if after := storefile.Hash(t, path); after != before {
				t.Errorf("the damaged file was changed")
			}

			// As the error says: the damaged file moved aside, the store
			// starts empty.
			if err := os.Rename(path, path+".damaged"); err != nil {
				t.Fatal(err)
			}
			r = checkRunEnv(t, w, map[string]string{"SPAWNER_DATA_DIR": dir})
			checkExpect(t, w, r, nil)
			if !strings.Contains(r.out, "ok       data folder "+path+"\n") {
				t.Errorf("the report does not say the new store is ok:\n%s", r.out)
			}
		})
	}
	if n := w.discord.Identifies(); n != 0 {
		t.Errorf("a daemon on a damaged store connected to Discord (%d IDENTIFY)", n)
	}
}

// TestReadyzWhileServersComeAndGo: /readyz is asked without pause while
// members create servers and stop them, every write going to the
// embedded store; it answers 200 every time, and the daemon lives on.
func TestReadyzWhileServersComeAndGo(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	env := embeddedEnv(dataDir)
	env["HTTP_ADDR"] = "127.0.0.1:0"
	w := newWorld(t, worldOptions{env: env})
	d := w.start(t)
	addr := httpAddrOf(t, w, d)
	httpWaitReady(t, w, d, addr, "the daemon to be ready")

	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		asked   int
		refusal []string // what /readyz said when it did not answer 200
	)
	wg.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			asked++
			resp, err := client.Get("http://" + addr + "/readyz")
			if err != nil {
				refusal = append(refusal, err.Error())
				return // the daemon is gone: nothing more to ask
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				refusal = append(refusal, resp.Status+" "+strings.TrimSpace(string(body)))
			}
		}
	})

	for i := 1; i <= 3; i++ {
		channelID := dkCreate(t, w, member(i))
		wdWait(t, w, d, channelID, "your server is ready")
	}
	for _, task := range w.aws.Tasks() {
		ix := w.discord.Command(admin(1), "en-US", []string{"server", "stop"}, map[string]any{"server": task.ID})
		ix.WaitEdit(t, waitLong, func(m fakediscord.Message) bool { return strings.Contains(m.Text(), "stopped") })
	}
	close(stop)
	wg.Wait()

	if len(refusal) > 0 {
		t.Errorf("/readyz did not answer 200 %d time(s) of %d while servers came and went; first: %q", len(refusal), asked, refusal[0])
	}
	t.Logf("/readyz asked %d times", asked)
	if err := d.stop(t); err != nil {
		t.Errorf("daemon returned %v", err)
	}
}
