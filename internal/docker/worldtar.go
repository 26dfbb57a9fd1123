package docker

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// World archives.
//
// A world's archive is a tar stream whose entries are the content of the
// world's folder, relative to it, as `tar -C <path> -cf - .` writes them:
// "./" (the folder itself, whose owner and mode the game needs to write
// in it), "./level.dat", "./region/r.0.0.mca". Restores also take names
// without the "./" ("level.dat"). Entries are passed on one at a time:
// no file is held in memory.

// engineCut says what an engine's archive that ends early means.
const engineCut = "the engine's archive of the volume ended early (a file changed while it was read?)"

// copyWorldOut rewrites the engine's archive of a helper's helperPath
// (src, as CopyFromContainer gives it: the folder itself first, then its
// content, under the folder's name or ".") as a world archive on dst, and
// returns the bytes of file content written. An archive cut short (the
// engine stops when a file shrinks while it is read) is an error.
func copyWorldOut(dst io.Writer, src io.Reader) (int64, error) {
	in := &starvedReader{r: src}
	tr := tar.NewReader(in)
	tw := tar.NewWriter(dst)
	var size int64
	prefix := "" // the engine's name of the folder itself, "" for "."
	for first := true; ; first = false {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) && !in.starved {
			break
		}
		if err != nil {
			return size, fmt.Errorf("%s: %w", engineCut, orCut(err))
		}
		name := path.Clean(hdr.Name)
		if first {
			if hdr.Typeflag != tar.TypeDir {
				return size, fmt.Errorf("the engine's archive of the volume starts with %q, not the folder", hdr.Name)
			}
			if name != "." {
				prefix = name
			}
		}
		if hdr.Name, err = rebase(name, prefix, hdr.Typeflag); err != nil {
			return size, fmt.Errorf("the engine's archive of the volume: %w", err)
		}
		if hdr.Typeflag == tar.TypeLink {
			if hdr.Linkname, err = rebase(path.Clean(hdr.Linkname), prefix, tar.TypeReg); err != nil {
				return size, fmt.Errorf("the engine's archive of the volume: hard link %s: %w", hdr.Name, err)
			}
		}
		n, err := copyEntry(tw, tr, hdr, engineCut)
		size += n
		if err != nil {
			return size, err
		}
	}
	if err := tw.Close(); err != nil {
		return size, fmt.Errorf("write the world's archive: %w", err)
	}
	return size, nil
}

// rebase is the world archive's name of an entry the engine named name
// (cleaned) under the folder prefix: "./" and the path below the folder,
// with a trailing slash for a folder.
func rebase(name, prefix string, typ byte) (string, error) {
	rel := name
	if prefix != "" {
		var ok bool
		if rel, ok = strings.CutPrefix(name, prefix); !ok || (rel != "" && rel[0] != '/') {
			return "", fmt.Errorf("entry %q is outside the folder %q", name, prefix)
		}
		rel = "." + rel
	}
	return worldName(".", rel, typ)
}

// worldName is the name, under the folder dir ("." or a folder's name), of
// an entry named name relative to the world's folder: dir and "/" for the
// folder itself, else dir, "/" and the cleaned path, with a trailing
// slash for a folder. A name that leaves the world's folder is an error.
func worldName(dir, name string, typ byte) (string, error) {
	clean := path.Clean(strings.TrimPrefix(name, "./"))
	if path.IsAbs(name) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("entry %q is outside the world's folder", name)
	}
	if clean == "." {
		return dir + "/", nil
	}
	if typ == tar.TypeDir {
		return dir + "/" + clean + "/", nil
	}
	return dir + "/" + clean, nil
}

// copyEntry writes hdr and its content from tr to tw, returning the bytes
// of content copied. A failure to read the content is put after damaged,
// which says what that means.
func copyEntry(tw *tar.Writer, tr *tar.Reader, hdr *tar.Header, damaged string) (int64, error) {
	// Let the writer pick the format that holds what the header carries.
	hdr.Format = tar.FormatUnknown
	if err := tw.WriteHeader(hdr); err != nil {
		return 0, fmt.Errorf("write the world's archive: %s: %w", hdr.Name, err)
	}
	src := &readFailure{r: tr}
	n, err := io.Copy(tw, src)
	switch {
	case src.err != nil:
		return n, fmt.Errorf("%s: %s: %w", damaged, hdr.Name, src.err)
	case err != nil:
		return n, fmt.Errorf("write the world's archive: %s: %w", hdr.Name, err)
	}
	return n, nil
}

// readFailure remembers the error its reader failed with, so that a copy's
// error tells reading from writing.
type readFailure struct {
	r   io.Reader
	err error
}

func (f *readFailure) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		f.err = err
	}
	return n, err
}

// copyWorldIn passes the world archive src on to dst, the engine's upload
// into a new volume, its entries under the folder dir (the volume's
// mount point: the engine applies the owner and mode of the archive's
// folder to an existing folder it names, never to the folder it extracts
// into), checking it: every entry stays in the world's folder and is a
// file, a folder, a link or a FIFO (never a device); the archive is whole
// (its end marker is there); what follows its end is zero padding only,
// read to the end of src. Any other archive is an error naming the
// problem, returned before the end of the upload is written, so that the
// engine never takes a partial world as whole.
func copyWorldIn(dst io.Writer, src io.Reader, dir string) error {
	in := &starvedReader{r: src}
	tr := tar.NewReader(in)
	tw := tar.NewWriter(dst)
	entries := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) && !in.starved {
			break
		}
		if err != nil {
			return fmt.Errorf("the world's archive is damaged or cut short after %d entries: %w", entries, orCut(err))
		}
		if err := checkEntry(hdr, dir); err != nil {
			return err
		}
		if _, err := copyEntry(tw, tr, hdr, "the world's archive is damaged or cut short"); err != nil {
			return err
		}
		entries++
	}
	if entries == 0 {
		return errors.New("the world's archive is empty: not even its folder")
	}
	if err := trailingZeros(src); err != nil {
		return err
	}
	// The end marker last: the upload is whole only once all is checked.
	return tw.Close()
}

// checkEntry checks one entry of a world archive and names it under the
// folder dir.
func checkEntry(hdr *tar.Header, dir string) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	default:
		return fmt.Errorf("the world's archive holds %q of type %q: only files, folders, links and FIFOs are restored", hdr.Name, string(rune(hdr.Typeflag)))
	}
	var err error
	if hdr.Name, err = worldName(dir, hdr.Name, hdr.Typeflag); err != nil {
		return fmt.Errorf("the world's archive: %w", err)
	}
	if hdr.Typeflag == tar.TypeLink {
		if hdr.Linkname, err = worldName(dir, hdr.Linkname, tar.TypeReg); err != nil {
			return fmt.Errorf("the world's archive: hard link %s: %w", hdr.Name, err)
		}
	}
	return nil
}

// trailingZeros reads r to its end and fails unless it held only zeros:
// the padding tar writers add after an archive's end.
func trailingZeros(r io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return errors.New("the world's archive is followed by other data")
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the end of the world's archive: %w", err)
		}
	}
}

// starvedReader tells whether its reader was asked for more after its
// end. The tar reader takes an end of input between two entries for the
// end of the archive; reading a whole archive stops at its end marker,
// never asking for more.
type starvedReader struct {
	r       io.Reader
	starved bool
}

func (s *starvedReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n == 0 && len(p) > 0 && errors.Is(err, io.EOF) {
		s.starved = true
	}
	return n, err
}

// orCut names the end of an input that came too early.
func orCut(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
