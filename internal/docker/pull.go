package docker

import (
	"context"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// pullStep is the smallest change of the download percentage told to
// Config.OnPull, so a status message is not edited for every chunk.
const pullStep = 5

// ensureImage pulls ref unless the host has it, telling the progress to
// Config.OnPull. A pull that fails is a *spawner.RunFailure saying why.
func (r *Runtime) ensureImage(ctx context.Context, creation, ref string) error {
	failed := func(err error) error {
		return &spawner.RunFailure{Reason: fmt.Sprintf("cannot pull image %q", ref), Detail: err.Error()}
	}
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return failed(err)
	}
	_, err := r.cli.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("run container: inspect image %q: %w", ref, err)
	}
	r.tellPull(creation, spawner.PullProgress{Image: ref, Phase: spawner.PullStarted})
	rc, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run container: pull %q: %w", ref, ctx.Err())
		}
		return failed(err)
	}
	defer rc.Close()
	if err := r.follow(creation, ref, rc); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("run container: pull %q: %w", ref, ctx.Err())
		}
		return failed(err)
	}
	if _, err := r.cli.ImageInspect(ctx, ref); err != nil {
		return failed(fmt.Errorf("the pull ended without the image: %w", err))
	}
	r.tellPull(creation, spawner.PullProgress{Image: ref, Phase: spawner.PullDone})
	return nil
}

// follow reads a pull's progress stream to its end, telling the bytes
// downloaded over every layer each time their share grew by pullStep
// percent, then that the layers are extracted, and returns the error the
// stream reports.
func (r *Runtime) follow(creation, ref string, stream io.Reader) error {
	type layer struct{ current, total int64 }
	layers := map[string]*layer{}
	lastPct := -pullStep
	extracting := false
	return eachMessage(stream, func(m jsonmessage.JSONMessage) {
		if m.ID == "" {
			return
		}
		l := layers[m.ID]
		if l == nil {
			l = &layer{}
			layers[m.ID] = l
		}
		switch m.Status {
		case "Downloading":
			if m.Progress != nil {
				l.current, l.total = m.Progress.Current, m.Progress.Total
			}
		case "Download complete", "Pull complete", "Already exists":
			l.current = l.total
		case "Extracting":
			if !extracting {
				extracting = true
				r.tellPull(creation, spawner.PullProgress{Image: ref, Phase: spawner.PullExtracting})
			}
			return
		default:
			return
		}
		var cur, total int64
		for _, l := range layers {
			cur += l.current
			total += l.total
		}
		if total <= 0 || extracting {
			return
		}
		pct := int(cur * 100 / total)
		if pct >= lastPct+pullStep {
			lastPct = pct
			r.tellPull(creation, spawner.PullProgress{Image: ref, Phase: spawner.PullDownloading, Done: cur, Total: total})
		}
	})
}

func (r *Runtime) tellPull(creation string, progress spawner.PullProgress) {
	if r.cfg.OnPull != nil {
		r.cfg.OnPull(creation, progress)
	}
}
