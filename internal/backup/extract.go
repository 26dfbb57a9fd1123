package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// limits bound one restore.
type limits struct {
	content int64 // bytes of regular files, as recorded
	max     int64 // bytes of regular files at most, whatever was recorded
	entries int
}

// open streams a backup's archive with its description and the limits a
// restore of it keeps to; the caller closes the stream.
func (k *Keeper) open(ctx context.Context, worldID, backupID string) (io.ReadCloser, spawner.Backup, limits, error) {
	rc, b, err := k.Store.Open(ctx, worldID, backupID)
	if err != nil {
		return nil, b, limits{}, err
	}
	lim, err := k.limits(b)
	if err != nil {
		_ = rc.Close()
		return nil, b, limits{}, err
	}
	return rc, b, lim, nil
}

// limits returns the bounds of a restore of b: what b recorded, and never
// more than the Keeper's ceilings.
func (k *Keeper) limits(b spawner.Backup) (limits, error) {
	l := limits{content: b.ContentSize, max: k.MaxContent, entries: k.MaxEntries}
	if l.max <= 0 {
		l.max = DefaultMaxContent
	}
	if l.entries <= 0 {
		l.entries = DefaultMaxEntries
	}
	if b.ContentSize > l.max {
		return l, fmt.Errorf("%w: backup %s holds %d bytes, more than the %d a restore may write", ErrTooBig, b.ID, b.ContentSize, l.max)
	}
	return l, nil
}

// readArchive reads the archive of b from r and calls each for every
// entry, with the entry's clean name ("." for the world's folder itself)
// and, for a regular file, its content. It refuses unsafe entries and
// content beyond lim, and, once the archive has been read to its end, an
// archive whose SHA-256 or size is not what b recorded: what each did must
// be thrown away unless readArchive returns nil.
func readArchive(ctx context.Context, r io.Reader, b spawner.Backup, lim limits, each func(name string, h *tar.Header, body io.Reader) error) error {
	v := &verifier{r: r, h: sha256.New(), max: b.Size}
	gz, err := gzip.NewReader(v)
	if err != nil {
		return v.fail(b, err)
	}
	tr := tar.NewReader(gz)
	body := &entryBody{r: tr, v: v, b: b}
	var content int64
	for entries := 0; ; entries++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v.fail(b, err)
		}
		if entries >= lim.entries {
			return fmt.Errorf("%w: backup %s has more than %d entries", ErrTooBig, b.ID, lim.entries)
		}
		name, err := entryName(h.Name)
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if err := admitEntry(name, h, b, lim, &content); err != nil {
			return err
		}
		if err := each(name, h, body); err != nil {
			return err
		}
	}
	// Read what is left after the tar's end (its padding, gzip's trailer,
	// which checks gzip's own CRC) and then to the end of the stream, so the
	// checksum covers every byte stored.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return v.fail(b, err)
	}
	if _, err := io.Copy(io.Discard, v); err != nil {
		return v.fail(b, err)
	}
	if v.n != b.Size || hex.EncodeToString(v.h.Sum(nil)) != b.SHA256 {
		return fmt.Errorf("backup %s: %w (%d bytes read, %d recorded)", b.ID, ErrChecksum, v.n, b.Size)
	}
	return nil
}

// admitEntry refuses an entry that is neither a file, a folder nor a link,
// and a regular file that takes the content read so far past what lim
// allows or what b recorded; content counts the regular files' bytes.
func admitEntry(name string, h *tar.Header, b spawner.Backup, lim limits, content *int64) error {
	switch h.Typeflag {
	case tar.TypeReg: // tar.Reader reports the old TypeRegA as TypeReg
		*content += h.Size
		switch {
		case h.Size < 0 || *content > lim.max:
			return fmt.Errorf("%w: backup %s holds more than %d bytes", ErrTooBig, b.ID, lim.max)
		case *content > lim.content:
			// Not the archive that was written, and more than it may write.
			return fmt.Errorf("%w: %w: backup %s holds more than the %d bytes it recorded", ErrChecksum, ErrTooBig, b.ID, lim.content)
		}
	case tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	default:
		return fmt.Errorf("%w: %q: not a file, a folder or a link (type %q)", ErrUnsafeEntry, name, h.Typeflag)
	}
	return nil
}

// verifier hashes and counts what is read through it, and fails as soon
// as more than max bytes come.
type verifier struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	max int64
	err error // the store's own error (a network failure), as opposed to a damaged archive
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.max {
		return n, fmt.Errorf("%w: more than the %d bytes recorded", ErrChecksum, v.max)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		v.err = err
	}
	return n, err
}

// fail words an error met while reading the archive of b: the store's
// error as it is, anything else (gzip or tar finding the archive damaged
// or cut short) as an ErrChecksum.
func (v *verifier) fail(b spawner.Backup, err error) error {
	if v.err != nil || errors.Is(err, ErrChecksum) {
		return fmt.Errorf("backup %s: %w", b.ID, err)
	}
	return fmt.Errorf("backup %s: %w: %w", b.ID, ErrChecksum, err)
}

// entryBody is the content of the current entry, its read errors worded
// by the verifier.
type entryBody struct {
	r io.Reader
	v *verifier
	b spawner.Backup
}

func (e *entryBody) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = e.v.fail(e.b, err)
	}
	return n, err
}

// extractor writes the entries of an archive into an empty folder, never
// outside it and never through a symbolic link it made.
type extractor struct {
	root  *os.Root
	links map[string]bool // the symbolic links made so far
	dirs  []dirMeta       // given their modes and times once everything is in
	chown bool            // restore owners: only root may
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

func newExtractor(root *os.Root) *extractor {
	return &extractor{root: root, links: map[string]bool{}, chown: os.Geteuid() == 0}
}

// throughLink reports whether name is, or is under, a symbolic link made earlier.
func (x *extractor) throughLink(name string) bool {
	if len(x.links) == 0 {
		return false
	}
	for p := name; p != "." && p != "/"; p = path.Dir(p) {
		if x.links[p] {
			return true
		}
	}
	return false
}

// add writes one entry. An entry is never written over another (a second
// entry of the same name is refused), so nothing is ever written through a
// link.
func (x *extractor) add(name string, h *tar.Header, body io.Reader) error {
	if name == "." {
		return nil
	}
	if x.throughLink(name) {
		return fmt.Errorf("%w: %q: a path through a symbolic link", ErrUnsafeEntry, name)
	}
	if dir := path.Dir(name); dir != "." {
		if err := x.root.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
	}
	var err error
	switch h.Typeflag {
	case tar.TypeDir:
		err = x.addDir(name, h)
	case tar.TypeReg:
		err = x.addFile(name, h, body)
	case tar.TypeSymlink:
		err = x.addSymlink(name, h)
	case tar.TypeLink:
		return x.addHardLink(name, h) // the target's owner and mode are the link's
	}
	if err != nil || !x.chown {
		return err
	}
	if err := x.root.Lchown(name, h.Uid, h.Gid); err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	return nil
}

// addDir makes the folder name, or keeps the one an earlier entry's path
// made; its mode and times are given by finish, once everything is in.
func (x *extractor) addDir(name string, h *tar.Header) error {
	err := x.root.Mkdir(name, 0o700)
	if errors.Is(err, fs.ErrExist) {
		info, serr := x.root.Lstat(name)
		if serr == nil && info.IsDir() {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	x.dirs = append(x.dirs, dirMeta{name: name, mode: perm(h), mtime: h.ModTime})
	return nil
}

// addFile writes the file name with body, then gives it its mode and
// times; a second entry of that name is refused.
func (x *extractor) addFile(name string, h *tar.Header, body io.Reader) error {
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %q: a second entry of that name", ErrUnsafeEntry, name)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = x.root.Chmod(name, perm(h))
	}
	if err == nil {
		err = x.root.Chtimes(name, h.ModTime, h.ModTime)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	return nil
}

// addSymlink makes the symbolic link name, which nothing is written
// through afterwards; a link to nothing or a second entry of that name is
// refused.
func (x *extractor) addSymlink(name string, h *tar.Header) error {
	if h.Linkname == "" || strings.IndexByte(h.Linkname, 0) >= 0 {
		return fmt.Errorf("%w: %q: a symbolic link to nothing", ErrUnsafeEntry, name)
	}
	err := x.root.Symlink(h.Linkname, name)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %q: a second entry of that name", ErrUnsafeEntry, name)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	x.links[name] = true
	return nil
}

// addHardLink links name to an entry of the archive already written; a
// target outside the folder or through a symbolic link, or a second entry
// of that name, is refused.
func (x *extractor) addHardLink(name string, h *tar.Header) error {
	target, err := entryName(h.Linkname)
	if err != nil || target == "." || x.throughLink(target) {
		return fmt.Errorf("%w: %q: a hard link to %q", ErrUnsafeEntry, name, h.Linkname)
	}
	err = x.root.Link(target, name)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %q: a second entry of that name", ErrUnsafeEntry, name)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	return nil
}

// perm is the permission bits an entry recorded; its other bits (setuid,
// setgid, sticky, and whatever a damaged header holds) are not restored.
func perm(h *tar.Header) fs.FileMode {
	return fs.FileMode(h.Mode & int64(fs.ModePerm))
}

// finish gives the folders their modes and times, now that nothing more
// is written into them.
func (x *extractor) finish() error {
	for _, d := range x.dirs {
		if err := x.root.Chmod(d.name, d.mode); err != nil {
			return fmt.Errorf("restore %s: %w", d.name, err)
		}
		if err := x.root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return fmt.Errorf("restore %s: %w", d.name, err)
		}
	}
	return nil
}

// RestoreTar writes the content of a backup to w as an uncompressed tar
// stream, entries relative to the world's path: what the Docker API's
// CopyToContainer takes. Entries are checked as RestoreDir checks them. The
// checksum can only be known once the whole archive was read: when
// RestoreTar returns an error, w has received a stream without its end
// (or a part of one), and whatever was written from it must be thrown away
// (extract into a new volume, and swap it in only on success).
func (k *Keeper) RestoreTar(ctx context.Context, worldID, backupID string, w io.Writer) error {
	if err := errors.Join(spawner.ValidWorldID(worldID), spawner.ValidBackupID(backupID)); err != nil {
		return err
	}
	rc, b, lim, err := k.open(ctx, worldID, backupID)
	if err != nil {
		return err
	}
	defer rc.Close()
	tw := tar.NewWriter(w)
	links := &extractor{links: map[string]bool{}}
	err = readArchive(ctx, rc, b, lim, func(name string, h *tar.Header, body io.Reader) error {
		if name == "." {
			return nil
		}
		if links.throughLink(name) || (h.Typeflag == tar.TypeLink && links.throughLink(path.Clean(h.Linkname))) {
			return fmt.Errorf("%w: %q: a path through a symbolic link", ErrUnsafeEntry, name)
		}
		if h.Typeflag == tar.TypeSymlink {
			links.links[name] = true
		}
		arc := &Archive{tw: tw}
		h.Name = name
		return arc.Add(h, body)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
