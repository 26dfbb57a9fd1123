package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// pattern is size bytes of a repeating pattern, generated as they are
// read: a backup of any size that takes no memory. It seeks, as a file
// does, unless it is wrapped to hide it.
type pattern struct {
	size, off int64
}

func patternByte(i int64) byte { return byte(i*7 + i/251) }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int64(len(b))
	if left := p.size - p.off; n > left {
		n = left
	}
	for i := range n {
		b[i] = patternByte(p.off + i)
	}
	p.off += n
	return int(n), nil
}

func (p *pattern) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += p.off
	case io.SeekEnd:
		offset += p.size
	}
	if offset < 0 {
		return 0, errors.New("seek before the start")
	}
	p.off = offset
	return offset, nil
}

// opened is an open backup: it counts its Close.
type opened struct {
	io.ReadSeeker
	closed *atomic.Int32
}

func (o opened) Close() error { o.closed.Add(1); return nil }

// stream is opened without Seek: an S3 body.
type stream struct {
	io.Reader
	closed *atomic.Int32
}

func (s stream) Close() error { s.closed.Add(1); return nil }

// backups is a BackupOpener of generated backups, by "<world>/<backup>".
type backups struct {
	sizes    map[string]int64
	seekable bool
	opens    atomic.Int32
	closed   atomic.Int32
}

func (o *backups) Open(_ context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, error) {
	o.opens.Add(1)
	size, ok := o.sizes[worldID+"/"+backupID]
	if !ok {
		return nil, spawner.Backup{}, fmt.Errorf("backup %s: %w", backupID, spawner.ErrNotFound)
	}
	b := spawner.Backup{ID: backupID, WorldID: worldID, Time: t0, Size: size, SHA256: strings.Repeat("0f", 32)}
	p := &pattern{size: size}
	if o.seekable {
		return opened{p, &o.closed}, b, nil
	}
	return stream{p, &o.closed}, b, nil
}

// downloadServer serves the pages with backups from o under base (""
// for none), and returns the server, the link maker for its address and
// the signer's clock.
func downloadServer(tb testing.TB, o *backups, base string, stall time.Duration) (*httptest.Server, *Downloads, *clock) {
	tb.Helper()
	clk := &clock{t: t0}
	signer := NewSigner([]byte("test secret"), clk.Now)
	hub := NewHub(HubOptions{Fleet: &fakeFleet{}, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(Handler(HandlerOptions{
		Signer: signer, Hub: hub, Logger: slog.New(slog.DiscardHandler), BasePath: base, Backups: o, DownloadStall: stall,
	}))
	tb.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	return srv, NewDownloads(signer, srv.URL+base), clk
}

func fetch(tb testing.TB, method, url string, header map[string]string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read %s: %v", url, err)
	}
	return resp, body
}

func patternBytes(from, to int64) []byte {
	out := make([]byte, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, patternByte(i))
	}
	return out
}

// The link DownloadURL makes downloads the archive as an attachment with
// its length, under PUBLIC_URL's path as at the root, and a range of it
// for a client that resumes; it expires DownloadLife after it was made.
func TestDownloadServesTheBackup(t *testing.T) {
	o := &backups{sizes: map[string]int64{"w1/b1": 1 << 20}, seekable: true}
	for _, base := range []string{"", "/spawner"} {
		t.Run("base "+base, func(t *testing.T) {
			srv, d, _ := downloadServer(t, o, base, 0)
			link, expires := d.DownloadURL("w1", "b1")
			if want := srv.URL + base + "/worlds/w1/backups/b1.tar.gz?token="; !strings.HasPrefix(link, want) {
				t.Errorf("link %q, want it to start with %q", link, want)
			}
			if want := t0.Add(DownloadLife); !expires.Equal(want) {
				t.Errorf("link expires %s, want %s", expires, want)
			}
			resp, body := fetch(t, "GET", link, nil)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, patternBytes(0, 1<<20)) {
				t.Fatalf("GET the link: %s, %d bytes", resp.Status, len(body))
			}
			for k, want := range map[string]string{
				"Content-Length":      "1048576",
				"Content-Type":        "application/gzip",
				"Content-Disposition": `attachment; filename="w1-b1.tar.gz"`,
				"Cache-Control":       "no-store",
				"ETag":                `"` + strings.Repeat("0f", 32) + `"`,
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			resp, body = fetch(t, "GET", link, map[string]string{"Range": "bytes=1000-1999"})
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, patternBytes(1000, 2000)) {
				t.Errorf("a range: %s, %d bytes", resp.Status, len(body))
			}
		})
	}
	if o.opens.Load() != o.closed.Load() {
		t.Errorf("%d backups opened, %d closed", o.opens.Load(), o.closed.Load())
	}

	// A backup gone since the link was made.
	_, d, _ := downloadServer(t, o, "", 0)
	link, _ := d.DownloadURL("w1", "gone")
	if resp, _ := fetch(t, "GET", link, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a backup that is gone: %s, want 404", resp.Status)
	}
}

// A missing, forged or expired token is 401, a token for anything else
// than this backup 403, and the backup is never opened; a download link
// opens no page and no feed.
func TestDownloadRefusesOtherTokens(t *testing.T) {
	o := &backups{sizes: map[string]int64{"w1/b1": 10, "w1/b2": 10, "w2/b1": 10}}
	srv, d, clk := downloadServer(t, o, "", 0)
	signer := d.signer
	path := srv.URL + "/worlds/w1/backups/b1.tar.gz?token="
	forged := NewSigner([]byte("another secret"), clk.Now).Sign(BackupScope("w1", "b1"), time.Hour)
	for _, c := range []struct {
		name, url string
		want      int
	}{
		{"no token", srv.URL + "/worlds/w1/backups/b1.tar.gz", http.StatusUnauthorized},
		{"forged", path + forged, http.StatusUnauthorized},
		{"another backup of the world", path + signer.Sign(BackupScope("w1", "b2"), time.Hour), http.StatusForbidden},
		{"the same backup id of another world", path + signer.Sign(BackupScope("w2", "b1"), time.Hour), http.StatusForbidden},
		{"the fleet", path + signer.Sign(FleetScope(), time.Hour), http.StatusForbidden},
		{"the owner", path + signer.Sign(MemberScope("42"), time.Hour), http.StatusForbidden},
		{"a server", path + signer.Sign(ServerScope("w1"), time.Hour), http.StatusForbidden},
		{"not an archive", srv.URL + "/worlds/w1/backups/b1.json?token=" + signer.Sign(BackupScope("w1", "b1"), time.Hour), http.StatusNotFound},
	} {
		if resp, _ := fetch(t, "GET", c.url, nil); resp.StatusCode != c.want {
			t.Errorf("%s: %s, want %d", c.name, resp.Status, c.want)
		}
	}
	link, _ := d.DownloadURL("w1", "b1")
	token := link[strings.Index(link, "token=")+len("token="):]
	for _, page := range []string{"/?token=", "/servers/w1?token=", "/events?token="} {
		if resp, _ := fetch(t, "GET", srv.URL+page+token, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a download link opens %s: %s, want 403", page, resp.Status)
		}
	}
	clk.Add(DownloadLife + time.Second)
	resp, body := fetch(t, "GET", link, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "expired") {
		t.Errorf("an expired link: %s %q, want 401 saying it expired", resp.Status, body)
	}
	if n := o.opens.Load(); n != 0 {
		t.Errorf("the backup was opened %d times for refused requests", n)
	}
	clk.Add(-2 * time.Second) // still valid a second before its end
	if resp, _ := fetch(t, "GET", link, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("the link a second before it expires: %s", resp.Status)
	}
}

// A large backup is streamed: the bot allocates a small fraction of its
// size while serving it, whether it seeks (a file) or not (S3's body).
func TestDownloadStreamsInBoundedMemory(t *testing.T) {
	const size = 64 << 20
	for _, seekable := range []bool{true, false} {
		t.Run(fmt.Sprintf("seekable %v", seekable), func(t *testing.T) {
			o := &backups{sizes: map[string]int64{"w1/big": size}, seekable: seekable}
			_, d, _ := downloadServer(t, o, "", 0)
			link, _ := d.DownloadURL("w1", "big")

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&after)
			if err != nil || n != size || resp.ContentLength != size {
				t.Fatalf("downloaded %d bytes (Content-Length %d), %v; want %d", n, resp.ContentLength, err, size)
			}
			want := sha256.New()
			_, _ = io.Copy(want, &pattern{size: size})
			if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
				t.Error("the bytes downloaded are not the backup's")
			}
			// Server and client together, a fraction of the archive
			// (about 110 KiB on linux/amd64).
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d KiB allocated to download %d MiB", alloc>>10, size>>20)
			if alloc > 4<<20 {
				t.Errorf("%d MiB allocated to download %d MiB: the backup is buffered", alloc>>20, size>>20)
			}
		})
	}
}

// A client that stops reading is dropped once the download stalled, and
// the backup is closed: it does not hold the file open for ever.
func TestDownloadDropsAStalledClient(t *testing.T) {
	o := &backups{sizes: map[string]int64{"w1/big": 256 << 20}}
	_, d, _ := downloadServer(t, o, "", 100*time.Millisecond)
	link, _ := d.DownloadURL("w1", "big")
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var once sync.Once
	wait.For(t, "the stalled download to be dropped and its backup closed", func() bool {
		once.Do(func() { _, _ = io.ReadFull(resp.Body, make([]byte, 1024)) }) // began, then stopped reading
		return o.closed.Load() == 1
	})
}
