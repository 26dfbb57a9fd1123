package docker

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// entry is one entry of a test archive; a name ending in "/" is a folder.
type entry struct {
	name, body string
	typ        byte   // 0: a file or, for a name ending in "/", a folder
	link       string // a link's target
}

func archive(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link, Uid: 1000, Gid: 1000}
		switch {
		case e.typ == 0 && strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.typ == 0:
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); h.Size > 0 && err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// listing is "name=body" (files) and "name" (others) for each entry of a
// tar stream, with its owner when it is not 1000.
func listing(tb testing.TB, b []byte) []string {
	tb.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("read the archive written: %v", err)
		}
		s := h.Name
		if h.Typeflag == tar.TypeReg {
			body, _ := io.ReadAll(tr)
			s += "=" + string(body)
		}
		if h.Typeflag == tar.TypeLink || h.Typeflag == tar.TypeSymlink {
			s += "->" + h.Linkname
		}
		if h.Uid != 1000 {
			s += fmt.Sprintf(" uid %d", h.Uid)
		}
		out = append(out, s)
	}
}

// The engine's archive of the helper's folder, named under "." or under
// the folder's name, becomes the world's archive: "./" and the content
// relative to it, owners and links kept; its size is the files' bytes.
func TestCopyWorldOut(t *testing.T) {
	want := []string{"./", "./starts=2\n", "./region/", "./region/r.0.0.mca=chunks", "./same->./starts", "./sym->/data/starts"}
	for _, tc := range []struct {
		name   string
		prefix string
	}{{"under dot", "./"}, {"under the folder's name", "world/"}} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.prefix
			src := archive(t,
				entry{name: p},
				entry{name: p + "starts", body: "2\n"},
				entry{name: p + "region/"},
				entry{name: p + "region/r.0.0.mca", body: "chunks"},
				entry{name: p + "same", typ: tar.TypeLink, link: p + "starts"},
				entry{name: p + "sym", typ: tar.TypeSymlink, link: "/data/starts"},
			)
			var out bytes.Buffer
			size, err := copyWorldOut(&out, bytes.NewReader(src))
			if err != nil {
				t.Fatalf("copy: %v", err)
			}
			if got := listing(t, out.Bytes()); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("world archive %q, want %q", got, want)
			}
			if size != 8 {
				t.Errorf("size %d, want the 8 bytes of the files", size)
			}
		})
	}
}

// An engine's archive cut short (a file shrank while it was read, and the
// engine stopped writing) is an error, never a smaller world.
func TestCopyWorldOutCutShort(t *testing.T) {
	src := archive(t, entry{name: "./"}, entry{name: "./a", body: strings.Repeat("a", 2000)}, entry{name: "./b", body: "b"})
	for _, cut := range []int{512 + 512 + 1000, 512 + 512 + 2048, len(src) - 1024, len(src) - 512} {
		var out bytes.Buffer
		if _, err := copyWorldOut(&out, bytes.NewReader(src[:cut])); err == nil || !strings.Contains(err.Error(), "ended early") {
			t.Errorf("archive cut at %d of %d: %v, want an archive that ended early", cut, len(src), err)
		}
	}
}

// A world archive is checked as it goes to the engine: a good one passes
// whole (names with or without "./", padding after its end, a gzip
// stream that ends with its last bytes), a bad one is an error naming
// what is wrong.
func TestCopyWorldIn(t *testing.T) {
	good := archive(t, entry{name: "./"}, entry{name: "./starts", body: "41\n"}, entry{name: "region/"}, entry{name: "region/r.0.0.mca", body: "x"}, entry{name: "same", typ: tar.TypeLink, link: "./starts"})
	wantGood := "world/ world/starts=41\n world/region/ world/region/r.0.0.mca=x world/same->world/starts"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(good)
	_ = zw.Close()
	gzipped := func() io.Reader {
		zr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	}
	tests := []struct {
		name string
		in   func() io.Reader
		err  string // "" when it passes
	}{
		{"whole", func() io.Reader { return bytes.NewReader(good) }, ""},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(good)) }, ""},
		{"end and data together", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(good)) }, ""},
		{"gzip", gzipped, ""},
		{"padded to a record", func() io.Reader { return bytes.NewReader(append(bytes.Clone(good), make([]byte, 10240)...)) }, ""},
		{"followed by data", func() io.Reader { return bytes.NewReader(append(bytes.Clone(good), "more"...)) }, "followed by other data"},
		{"cut between entries", func() io.Reader { return bytes.NewReader(good[:512*3+512]) }, "cut short"},
		{"cut in the end marker", func() io.Reader { return bytes.NewReader(good[:len(good)-512]) }, "cut short"},
		{"cut in a file", func() io.Reader { return bytes.NewReader(good[:512*2+2]) }, "cut short"},
		{"gzip cut short", func() io.Reader {
			zr, _ := gzip.NewReader(bytes.NewReader(gz.Bytes()[:gz.Len()-4]))
			return zr
		}, "unexpected EOF"},
		{"empty", func() io.Reader { return bytes.NewReader(nil) }, "cut short"},
		{"only the end marker", func() io.Reader { return bytes.NewReader(make([]byte, 1024)) }, "empty"},
		{"not a tar", func() io.Reader { return strings.NewReader(strings.Repeat("hello world\n", 100)) }, "damaged"},
		{"escapes by ..", func() io.Reader {
			return bytes.NewReader(archive(t, entry{name: "./"}, entry{name: "./region/../../etc/x", body: "x"}))
		}, `"./region/../../etc/x" is outside`},
		{"absolute", func() io.Reader { return bytes.NewReader(archive(t, entry{name: "/etc/passwd", body: "x"})) }, `"/etc/passwd" is outside`},
		{"hard link out", func() io.Reader {
			return bytes.NewReader(archive(t, entry{name: "l", typ: tar.TypeLink, link: "../../etc/shadow"}))
		}, "hard link world/l"},
		{"device", func() io.Reader { return bytes.NewReader(archive(t, entry{name: "./sda", typ: tar.TypeBlock})) }, `"./sda" of type "4"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := copyWorldIn(&out, tc.in(), "world")
			if tc.err == "" {
				if err != nil {
					t.Fatalf("copy: %v", err)
				}
				if got := strings.Join(listing(t, out.Bytes()), " "); got != wantGood {
					t.Errorf("passed on %q, want %q", got, wantGood)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("copy: %v, want an error saying %q", err, tc.err)
			}
			if tail := out.Bytes(); len(tail) >= 1024 && bytes.Equal(tail[len(tail)-1024:], make([]byte, 1024)) {
				t.Errorf("the end marker was passed on for a bad archive: the engine would take it as whole")
			}
		})
	}
}
