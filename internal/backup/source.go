package backup

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// A Source writes the entries of a world into an Archive: Dir for a
// folder, TarStream for a tar stream (a Docker volume).
type Source func(ctx context.Context, a *Archive) error

// Archive is the tar stream of a backup being written. Every entry added
// is checked as a restore checks it, so a backup that was written can be
// restored.
type Archive struct {
	tw      *tar.Writer
	content int64
	buf     []byte // copies files 1 MiB at a time, not 32 KiB
}

// Add writes one entry: a folder, a symbolic link, a hard link to an
// earlier entry, or a regular file whose h.Size bytes are read from body.
// The entry's name is made relative and clean ("./a//b" is "a/b"); a name
// that is absolute or holds "..", or any other kind of entry, is refused
// with an error wrapping ErrUnsafeEntry. A file that ends before h.Size
// bytes (it shrank while it was read) fails the backup.
func (a *Archive) Add(h *tar.Header, body io.Reader) error {
	name, err := entryName(h.Name)
	if err != nil {
		return err
	}
	if name == "." {
		return nil // the world's folder itself: its own mode is not content
	}
	hdr := &tar.Header{
		Name:     name,
		Mode:     h.Mode & 0o7777,
		Uid:      h.Uid,
		Gid:      h.Gid,
		ModTime:  h.ModTime.Truncate(time.Second), // as tar(1) does; the writer would round
		Typeflag: h.Typeflag,
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = h.Size
	case tar.TypeDir:
		hdr.Name += "/"
	case tar.TypeSymlink:
		if h.Linkname == "" || strings.IndexByte(h.Linkname, 0) >= 0 {
			return fmt.Errorf("%w: %q: a symbolic link to nothing", ErrUnsafeEntry, name)
		}
		hdr.Linkname = h.Linkname
	case tar.TypeLink:
		target, err := entryName(h.Linkname)
		if err != nil || target == "." {
			return fmt.Errorf("%w: %q: a hard link to %q", ErrUnsafeEntry, name, h.Linkname)
		}
		hdr.Linkname = target
	default:
		return fmt.Errorf("%w: %q: not a file, a folder or a link (type %q)", ErrUnsafeEntry, name, h.Typeflag)
	}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	if a.buf == nil {
		a.buf = make([]byte, 1<<20)
	}
	// The tar writer's own ReadFrom would copy 32 KiB at a time: hide it.
	n, err := io.CopyBuffer(struct{ io.Writer }{a.tw}, io.LimitReader(body, hdr.Size), a.buf)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n < hdr.Size {
		return fmt.Errorf("%s: the file shrank from %d to %d bytes while it was read", name, hdr.Size, n)
	}
	a.content += n
	return nil
}

// Dir is the content of a folder: its files, folders and symbolic links
// (kept as links, never followed), relative to it. Sockets, pipes and
// devices are not world content and are left out; a file removed while the
// folder is read is left out too. Every read stays inside the folder, even
// if a link in it is swapped while it is read.
func Dir(dir string) Source {
	return func(ctx context.Context, a *Archive) error {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return err
		}
		defer root.Close()
		return fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && name != "." {
				return nil
			}
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if name == "." {
				return nil
			}
			return addDirEntry(a, root, name)
		})
	}
}

// addDirEntry adds to a the entry name of root as it is now: a file, a
// folder, or a symbolic link kept as a link. Anything else, and an entry
// removed since the folder was listed, is left out.
func addDirEntry(a *Archive, root *os.Root, name string) error {
	info, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch info.Mode().Type() {
	case 0:
		return addDirFile(a, root, name, info)
	case fs.ModeDir:
		return addDirHeader(a, name, info, "")
	case fs.ModeSymlink:
		target, err := root.Readlink(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return addDirHeader(a, name, info, target)
	}
	return nil
}

// addDirFile adds the file name of root, info as Lstat saw it, with its
// content; a file removed meanwhile is left out.
func addDirFile(a *Archive, root *os.Root, name string, info fs.FileInfo) error {
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := tar.FileInfoHeader(info, "")
	if err != nil {
		return err
	}
	h.Name = name
	return a.Add(h, f)
}

// addDirHeader adds name, a folder or a link to target, an entry with no
// content.
func addDirHeader(a *Archive, name string, info fs.FileInfo, target string) error {
	h, err := tar.FileInfoHeader(info, target)
	if err != nil {
		return err
	}
	h.Name = name
	return a.Add(h, nil)
}

// TarStream is the content of an uncompressed tar stream, such as the one
// the Docker API's CopyFromContainer returns for a volume's path. When
// strip is not empty, the stream's entries are under that folder (Docker
// names them after the path's last element: "data/level.dat" for "/data")
// and are taken relative to it; an entry outside it is refused. Entries
// other than files, folders and links are left out.
func TarStream(r io.Reader, strip string) Source {
	return func(ctx context.Context, a *Archive) error {
		tr := tar.NewReader(r)
		prefix := ""
		if strip != "" {
			s, err := entryName(strip)
			if err != nil || s == "." {
				return fmt.Errorf("tar stream: bad folder to strip %q", strip)
			}
			prefix = s
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("tar stream: %w", err)
			}
			switch h.Typeflag {
			case tar.TypeReg, tar.TypeRegA, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
			default:
				continue
			}
			name, err := entryName(h.Name)
			if err != nil {
				return err
			}
			if prefix != "" {
				if name, err = underPrefix(name, prefix); err != nil {
					return err
				}
				if h.Typeflag == tar.TypeLink {
					target, err := entryName(h.Linkname)
					if err != nil {
						return err
					}
					if h.Linkname, err = underPrefix(target, prefix); err != nil {
						return err
					}
				}
			}
			h.Name = name
			if err := a.Add(h, tr); err != nil {
				return err
			}
		}
	}
}

func underPrefix(name, prefix string) (string, error) {
	if name == prefix {
		return ".", nil
	}
	if rest, ok := strings.CutPrefix(name, prefix+"/"); ok {
		return rest, nil
	}
	return "", fmt.Errorf("%w: %q is not under %q", ErrUnsafeEntry, name, prefix)
}

// entryName returns the name of an archive entry made relative and clean,
// "." for the world's folder itself, or an error wrapping ErrUnsafeEntry
// when the name could land outside the folder: absolute, with a ".."
// element, or with a NUL byte.
func entryName(name string) (string, error) {
	switch {
	case name == "":
		return "", fmt.Errorf("%w: an entry without a name", ErrUnsafeEntry)
	case strings.IndexByte(name, 0) >= 0:
		return "", fmt.Errorf("%w: %q: a NUL byte in the name", ErrUnsafeEntry, name)
	case strings.HasPrefix(name, "/"):
		return "", fmt.Errorf("%w: %q: an absolute path", ErrUnsafeEntry, name)
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == ".." {
			return "", fmt.Errorf("%w: %q: a path with \"..\"", ErrUnsafeEntry, name)
		}
	}
	return path.Clean(name), nil
}
