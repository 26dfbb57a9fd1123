package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// HelperImage is the image of the helper containers that open a world's
// volume: an empty root filesystem with the folder helperPath, imported
// by the bot itself into the engine on first need (as `docker import`
// does, nothing is pulled) and again whenever it was removed. It runs
// nothing: helpers are never started.
const HelperImage = "spawner-world-helper:1"

// helperEntrypoint is the command a helper would run; the engine wants
// one to create a container. It does not exist: helpers are never started.
const helperEntrypoint = "/spawner-world-helper"

// withHelper runs fn with the id of a new helper container that mounts the
// volume storage at helperPath, read-only when readOnly, and removes the
// container when fn returns, even when ctx is done. While fn runs, storage
// is busy: neither deleted nor pruned by this process.
func (r *Runtime) withHelper(ctx context.Context, storage string, readOnly bool, fn func(id string) error) (err error) {
	r.setBusy(storage, 1)
	defer r.setBusy(storage, -1)
	id, err := r.createHelper(ctx, storage, readOnly)
	if err != nil {
		return err
	}
	defer func() {
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rmErr := r.cli.ContainerRemove(rmCtx, id, container.RemoveOptions{Force: true}); rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
			err = errors.Join(err, fmt.Errorf("remove helper container %s: %w", shortID(id), rmErr))
		}
	}()
	return fn(id)
}

// createHelper creates, without starting it, a helper container mounting
// storage, importing HelperImage first when the engine does not have it.
func (r *Runtime) createHelper(ctx context.Context, storage string, readOnly bool) (string, error) {
	if err := r.ensureHelperImage(ctx); err != nil {
		return "", err
	}
	cfg := &container.Config{
		Image:           HelperImage,
		Entrypoint:      []string{helperEntrypoint},
		NetworkDisabled: true,
		Labels: map[string]string{
			LabelDeployment:  r.cfg.Deployment,
			LabelWorldHelper: storage,
		},
	}
	host := &container.HostConfig{
		NetworkMode: "none",
		Mounts: []mount.Mount{{
			Type:     mount.TypeVolume,
			Source:   storage,
			Target:   helperPath,
			ReadOnly: readOnly,
			// The helper's image has nothing to copy, and a volume being
			// restored must hold only the archive's content.
			VolumeOptions: &mount.VolumeOptions{NoCopy: true},
		}},
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", err
	}
	created, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, "spawner-world-helper-"+hex.EncodeToString(suffix))
	if err != nil {
		return "", fmt.Errorf("create helper container for volume %s: %w", storage, err)
	}
	return created.ID, nil
}

// ensureHelperImage imports HelperImage unless the engine has it.
func (r *Runtime) ensureHelperImage(ctx context.Context) error {
	r.helperImageMu.Lock()
	defer r.helperImageMu.Unlock()
	_, err := r.cli.ImageInspect(ctx, HelperImage)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", HelperImage, err)
	}
	root, err := helperRootFS()
	if err != nil {
		return fmt.Errorf("import image %s: %w", HelperImage, err)
	}
	out, err := r.cli.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(root), SourceName: "-"}, HelperImage, image.ImportOptions{
		Changes: []string{
			"LABEL " + LabelStartedBy + "=" + spawner.StartedBy,
			`ENTRYPOINT ["` + helperEntrypoint + `"]`,
		},
	})
	if err != nil {
		return fmt.Errorf("import image %s: %w", HelperImage, err)
	}
	defer out.Close()
	if err := streamError(out); err != nil {
		return fmt.Errorf("import image %s: %w", HelperImage, err)
	}
	return nil
}

// helperRootFS is the tar of the helper image's root filesystem: the one
// folder where the volume is mounted.
func helperRootFS() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: helperPath[1:] + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// streamError reads an engine's JSON progress stream to its end and
// returns the error it reports.
func streamError(stream io.Reader) error {
	dec := json.NewDecoder(stream)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read progress: %w", err)
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
	}
}

// removeHelpers removes this deployment's helper containers that this
// process is not using: those a crash left. With storage set, only those
// opening it.
func (r *Runtime) removeHelpers(ctx context.Context, storage string) error {
	f := filters.NewArgs(filters.Arg("label", LabelDeployment+"="+r.cfg.Deployment))
	if storage == "" {
		f.Add("label", LabelWorldHelper)
	} else {
		f.Add("label", LabelWorldHelper+"="+storage)
	}
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return fmt.Errorf("list helper containers: %w", err)
	}
	for _, c := range list {
		if c.Labels[LabelDeployment] != r.cfg.Deployment || r.busy(c.Labels[LabelWorldHelper]) {
			continue
		}
		if err := r.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove helper container %s: %w", shortID(c.ID), err)
		}
	}
	return nil
}

// setBusy counts the helpers of this process opening storage.
func (r *Runtime) setBusy(storage string, delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.worldBusy[storage] += delta; r.worldBusy[storage] <= 0 {
		delete(r.worldBusy, storage)
	}
}

// busy reports whether a helper of this process opens storage.
func (r *Runtime) busy(storage string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.worldBusy[storage] > 0
}
