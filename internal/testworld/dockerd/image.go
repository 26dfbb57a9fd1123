package dockerd

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/Tnze/go-mc/bot"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// ResponderImage is the name of the image ResponderImage imports.
const ResponderImage = "spawner-test/mcresponder:latest"

// ResponderPort is the port the responder answers Server List Pings on
// inside its container.
const ResponderPort = 25565

const responderPkg = "github.com/mineral-contest/spawner/internal/testworld/cmd/mcresponder"

// ResponderImage returns the name of an image whose entrypoint is the test
// world's Server List Ping responder (internal/testworld/cmd/mcresponder)
// listening on ResponderPort, importing it into the engine on first use.
// The image is built offline: a static Go build of the responder in a
// one-file root filesystem, imported as docker import does. Nothing is
// pulled.
func (e *Engine) ResponderImage(tb testing.TB) string {
	tb.Helper()
	e.imageOnce.Do(func() {
		e.imageErr = e.importResponder()
		e.image = ResponderImage
	})
	if e.imageErr != nil {
		tb.Fatalf("dockerd: responder image: %v", e.imageErr)
	}
	return e.image
}

func (e *Engine) importResponder() error {
	bin := filepath.Join(e.dir, "mcresponder")
	// The toolchain that built this test binary, when it is still there
	// (as under `go test`); else the go on PATH.
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // SA1019: GOROOT is deprecated for binaries copied elsewhere; a test binary runs where it was built, and the fallback covers the rest
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	build := exec.Command(goBin, "build", "-trimpath", "-o", bin, responderPkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", responderPkg, err, out)
	}
	rootfs, err := rootFS(bin)
	if err != nil {
		return err
	}
	c, err := client.NewClientWithOpts(client.WithHost(e.host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, ResponderImage, image.ImportOptions{
		Changes: []string{
			`ENTRYPOINT ["/mcresponder"]`,
			fmt.Sprintf("EXPOSE %d/tcp", ResponderPort),
		},
	})
	if err != nil {
		return fmt.Errorf("import image: %w", err)
	}
	defer out.Close()
	if _, err := io.Copy(io.Discard, out); err != nil {
		return fmt.Errorf("import image: %w", err)
	}
	return nil
}

// rootFS is a tar of a root filesystem holding the binary at /mcresponder
// and the empty folders a container expects.
func rootFS(bin string) ([]byte, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"etc/", "proc/", "sys/", "dev/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "mcresponder", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WaitForPing waits, up to within, for a Server List Ping answer on addr
// and returns the status JSON; it fails tb naming addr and the last error
// when none came.
func WaitForPing(tb testing.TB, addr string, within time.Duration) string {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, _, err := bot.PingAndListTimeout(addr, time.Second)
		if err == nil {
			return string(resp)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no Server List Ping answer on %s within %s: %v", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
