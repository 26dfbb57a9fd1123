package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// DownloadLife is how long the link to a backup works.
const DownloadLife = 15 * time.Minute

// DefaultDownloadStall is how long a download waits for its client to take
// more bytes: a client that stops reading does not keep the file open.
const DefaultDownloadStall = time.Minute

// BackupOpener opens the archive of a world's backup, with its
// description; an error wrapping spawner.ErrNotFound when there is no such
// backup. backup.Local satisfies it; a reader that is an io.ReadSeeker (a
// file) is served with ranges.
type BackupOpener interface {
	Open(ctx context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, error)
}

// Downloads makes the links to backups that the pages' Handler serves.
type Downloads struct {
	signer *Signer
	base   string
}

// NewDownloads returns the link maker for the pages served at publicURL
// (PUBLIC_URL, with its path), signing with signer.
func NewDownloads(signer *Signer, publicURL string) *Downloads {
	return &Downloads{signer: signer, base: strings.TrimRight(publicURL, "/")}
}

// DownloadURL returns the link that downloads the archive of a backup of a
// world, <PUBLIC_URL>/worlds/<world id>/backups/<backup id>.tar.gz?token=…,
// and when it stops working: DownloadLife from now. Its token covers that
// backup only. The ids are a world's and a backup's (spawner.ValidWorldID,
// ValidBackupID): a link made of others never works.
func (d *Downloads) DownloadURL(worldID, backupID string) (string, time.Time) {
	token, expires := d.signer.sign(BackupScope(worldID, backupID), DownloadLife)
	return d.base + "/worlds/" + url.PathEscape(worldID) + "/backups/" + url.PathEscape(backupID) + archiveExt +
		"?token=" + url.QueryEscape(token), expires
}

// archiveExt ends the name of a backup's archive.
const archiveExt = ".tar.gz"

// download serves a backup's archive, streamed from the opener as the
// client reads it. The token is checked before anything is opened: a
// missing, forged or expired one is 401, one for anything else than this
// backup 403.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	worldID := r.PathValue("world")
	backupID, ok := strings.CutSuffix(r.PathValue("file"), archiveExt)
	if !ok {
		http.NotFound(w, r)
		return
	}
	c, err := h.opt.Signer.verify(r.URL.Query().Get("token"))
	switch {
	case errors.Is(err, ErrTokenExpired):
		http.Error(w, "this link has expired: ask the bot for a new one with /world download", http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, "invalid or missing token", http.StatusUnauthorized)
		return
	case c.scope != BackupScope(worldID, backupID):
		http.Error(w, "this link does not cover this backup", http.StatusForbidden)
		return
	}
	body, b, err := h.opt.Backups.Open(r.Context(), worldID, backupID)
	switch {
	case errors.Is(err, spawner.ErrNotFound):
		http.Error(w, "this backup no longer exists", http.StatusNotFound)
		return
	case err != nil:
		h.opt.Logger.Error("open backup to download", "world", worldID, "backup", backupID, "err", err)
		http.Error(w, "the backup could not be read", http.StatusInternalServerError)
		return
	}
	defer body.Close()
	h.opt.Logger.Info("backup downloaded", "world", worldID, "backup", backupID, "bytes", b.Size)

	hd := w.Header()
	hd.Set("Content-Type", "application/gzip")
	hd.Set("Content-Disposition", `attachment; filename="`+worldID+"-"+backupID+archiveExt+`"`)
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	if b.SHA256 != "" {
		hd.Set("ETag", `"`+b.SHA256+`"`) // lets a client resume with If-Range
	}
	out := &stallWriter{w: w, rc: http.NewResponseController(w), stall: h.opt.DownloadStall}
	if out.stall <= 0 {
		out.stall = DefaultDownloadStall
	}
	if file, ok := body.(io.ReadSeeker); ok {
		// Ranges, HEAD and the length; it copies in small chunks.
		http.ServeContent(out, r, "", b.Time, file)
		return
	}
	hd.Set("Content-Length", strconv.FormatInt(b.Size, 10))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(out, body); err != nil && r.Context().Err() == nil {
		h.opt.Logger.Warn("download cut", "world", worldID, "backup", backupID, "err", err)
	}
}

// stallWriter moves the response's write deadline before each write, so
// the whole download may take as long as it needs but a client that stops
// reading is dropped after stall. It hides the ResponseWriter's ReadFrom,
// so copies go through Write in small chunks.
type stallWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *stallWriter) Header() http.Header { return s.w.Header() }
func (s *stallWriter) WriteHeader(code int) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	s.w.WriteHeader(code)
}
func (s *stallWriter) Write(p []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	return s.w.Write(p)
}
