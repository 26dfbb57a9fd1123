package docker

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Worlds.
//
// A world's content lives in a named volume of the engine, its storage,
// mounted at the world's path in each server of the world
// (spawner.ContainerSpec.World). Volumes are never rewritten in place: a
// restore fills a new volume, a new generation of the world, and the
// caller points the world's record at it in one write before deleting the
// old one. A crash at any moment thus leaves the record on a whole
// volume, the old or the new; what it leaves behind (a generation no
// record names, a helper container) is removed by PruneWorldStorage.
//
// The engine reads and writes a volume only through a container: backups
// and restores go through a helper container that mounts the volume at
// helperPath and is never started (the engine's archive calls work on a
// created container), made of the bot's own empty image (HelperImage), so
// that neither the game's image nor a pull is needed. Helpers carry no
// LabelStartedBy, so they are never seen as servers.

// Labels of world volumes and helper containers.
const (
	// LabelWorld, on a volume, names the world whose content it holds; with
	// LabelStartedBy and LabelDeployment it marks the deployment's world
	// volumes, the only ones the adapter touches.
	LabelWorld = "spawner.world"
	// LabelWorldHelper, on a helper container, names the volume it opens.
	LabelWorldHelper = "spawner.worldHelper"
)

// WorldPruneGrace is how long a storage this process has just made
// (NewWorldStorage, RestoreWorld) is spared by PruneWorldStorage, for its
// caller to record it.
const WorldPruneGrace = 10 * time.Minute

// helperPath is where a helper container mounts the volume it opens.
const helperPath = "/world"

// volumeNamePart bounds each part of a volume's name taken from a label,
// so that the name stays a short file name on the host; labels hold the
// full values.
const volumeNamePart = 32

// NewWorldStorage creates an empty volume for the world worldID and
// returns its name, the storage the world's record keeps:
// "spawner-world-<deployment>-<worldID>-<generation>", labelled with the
// bot, the deployment and the world. Every call makes a new generation.
// The caller records it at once: PruneWorldStorage removes a generation
// no record names once WorldPruneGrace has passed.
func (r *Runtime) NewWorldStorage(ctx context.Context, worldID string) (string, error) {
	if worldID == "" {
		return "", errors.New("new world storage: no world id")
	}
	gen, err := r.generation()
	if err != nil {
		return "", fmt.Errorf("new world storage: %w", err)
	}
	name := "spawner-world-" + namePart(r.cfg.Deployment) + "-" + namePart(worldID) + "-" + gen
	_, err = r.cli.VolumeCreate(ctx, volume.CreateOptions{
		Name:   name,
		Driver: "local",
		Labels: map[string]string{
			LabelStartedBy:  spawner.StartedBy,
			LabelDeployment: r.cfg.Deployment,
			LabelWorld:      worldID,
		},
	})
	if err != nil {
		return "", fmt.Errorf("new world storage: create volume %s: %w", name, err)
	}
	r.markFresh(name)
	return name, nil
}

// generation is a new volume's suffix: the UTC time to the second, which
// orders a world's generations for an admin reading `docker volume ls`,
// and random hex, which keeps two made in one second apart.
func (r *Runtime) generation() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return r.cfg.Now().UTC().Format("20060102t150405") + "-" + hex.EncodeToString(b), nil
}

// namePart is s made fit for a volume's name and cut to volumeNamePart.
func namePart(s string) string {
	s = nameUnsafe.ReplaceAllString(s, "-")
	if len(s) > volumeNamePart {
		s = s[:volumeNamePart]
	}
	return s
}

// worldVolume returns the volume storage when it is one of this
// deployment's worlds; an error wrapping spawner.ErrNotFound when it does
// not exist; an error when it is another's.
func (r *Runtime) worldVolume(ctx context.Context, storage string) (volume.Volume, error) {
	if storage == "" {
		return volume.Volume{}, errors.New("no world storage named")
	}
	v, err := r.cli.VolumeInspect(ctx, storage)
	if cerrdefs.IsNotFound(err) {
		return volume.Volume{}, fmt.Errorf("volume %s: %w", storage, spawner.ErrNotFound)
	}
	if err != nil {
		return volume.Volume{}, fmt.Errorf("inspect volume %s: %w", storage, err)
	}
	if !r.ownsVolume(v.Labels) {
		return volume.Volume{}, fmt.Errorf("volume %s is not a world of deployment %q", storage, r.cfg.Deployment)
	}
	return v, nil
}

// ownsVolume reports whether a volume's labels say it is one of this
// deployment's worlds.
func (r *Runtime) ownsVolume(labels map[string]string) bool {
	return labels[LabelStartedBy] == spawner.StartedBy && labels[LabelDeployment] == r.cfg.Deployment && labels[LabelWorld] != ""
}

// worldMount is the mount of spec's world in a server's container, after
// checking that its volume is one of this deployment's worlds: the engine
// would otherwise make an empty volume of that name, and the server would
// start on a world that looks wiped. nil when spec has no world.
func (r *Runtime) worldMount(ctx context.Context, w *spawner.WorldMount) ([]mount.Mount, error) {
	if w == nil {
		return nil, nil
	}
	if !path.IsAbs(w.Path) || path.Clean(w.Path) == "/" {
		return nil, &spawner.RunFailure{Reason: "the world's path is not a folder of the container", Detail: fmt.Sprintf("world path %q must be an absolute path other than /", w.Path)}
	}
	if w.Storage == "" {
		return nil, &spawner.RunFailure{Reason: "the world's storage is missing", Detail: "no storage named"}
	}
	v, err := r.cli.VolumeInspect(ctx, w.Storage)
	switch {
	case cerrdefs.IsNotFound(err):
		return nil, &spawner.RunFailure{Reason: "the world's storage is missing", Detail: fmt.Sprintf("volume %s does not exist", w.Storage)}
	case err != nil:
		return nil, fmt.Errorf("run container: inspect volume %s: %w", w.Storage, err)
	case !r.ownsVolume(v.Labels):
		return nil, &spawner.RunFailure{Reason: "the world's storage is not this bot's", Detail: fmt.Sprintf("volume %s is not a world of deployment %q", w.Storage, r.cfg.Deployment)}
	}
	return []mount.Mount{{Type: mount.TypeVolume, Source: w.Storage, Target: path.Clean(w.Path)}}, nil
}

// BackupWorld writes to w a tar stream of the content of the world
// storage, its entries relative to the world's root ("level.dat",
// "region/r.0.0.mca"), and returns the bytes of file content it holds:
// the world's size. It streams, holding no file whole in memory. The
// storage may be in use by a running server: the caller makes the game
// save and hold its writes first (its saveCommands), since a file written
// while it is read is cut at the size it had when it was reached. It
// reads through a helper container mounting the volume read-only, always
// removed. The storage must be one of this deployment's worlds.
func (r *Runtime) BackupWorld(ctx context.Context, storage string, w io.Writer) (int64, error) {
	if _, err := r.worldVolume(ctx, storage); err != nil {
		return 0, fmt.Errorf("back up world: %w", err)
	}
	var size int64
	err := r.withHelper(ctx, storage, true, func(id string) error {
		rc, _, err := r.cli.CopyFromContainer(ctx, id, helperPath+"/.")
		if err != nil {
			return fmt.Errorf("read volume %s: %w", storage, err)
		}
		defer rc.Close()
		size, err = copyWorldOut(w, rc)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("back up world: %w", err)
	}
	return size, nil
}

// RestoreWorld makes a new storage for the world worldID holding the
// content of the tar stream rd (entries relative to the world's root, as
// BackupWorld writes them) and returns it. It fails, leaving nothing
// behind, when the stream is not a whole archive of a world (cut short,
// an entry outside the world's folder or a device, anything but zero
// padding after its end) or the engine could not write all of it; rd is
// read to its end before success, so that a checksum the caller computes
// while reading (a gzip reader's) is verified too.
//
// The world's current storage is not touched: the caller points the
// world's record at the returned storage in one write, then deletes the
// old one with DeleteWorldStorage.
func (r *Runtime) RestoreWorld(ctx context.Context, worldID string, rd io.Reader) (string, error) {
	storage, err := r.NewWorldStorage(ctx, worldID)
	if err != nil {
		return "", fmt.Errorf("restore world: %w", err)
	}
	err = r.withHelper(ctx, storage, false, func(id string) error {
		return r.fill(ctx, id, rd)
	})
	if err != nil {
		// The context may be done; the volume must go all the same.
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rmErr := r.cli.VolumeRemove(rmCtx, storage, false); rmErr != nil && !cerrdefs.IsNotFound(rmErr) {
			return "", fmt.Errorf("restore world: %w (and remove the new volume %s: %v)", err, storage, rmErr)
		}
		return "", fmt.Errorf("restore world: %w", err)
	}
	r.markFresh(storage)
	return storage, nil
}

// fill writes the world archive rd into the helper container id's volume.
// The archive is checked as it is passed on (copyWorldIn); a bad one cuts
// the upload short, which the engine refuses.
func (r *Runtime) fill(ctx context.Context, id string, rd io.Reader) error {
	pr, pw := io.Pipe()
	checked := make(chan error, 1)
	go func() {
		err := copyWorldIn(pw, rd, path.Base(helperPath))
		pw.CloseWithError(err) // nil: the engine reads the end of the upload
		checked <- err
	}()
	err := r.cli.CopyToContainer(ctx, id, path.Dir(helperPath), pr, container.CopyToContainerOptions{})
	// Whatever the engine did not read is refused, so the goroutine ends.
	_ = pr.CloseWithError(errEngineStopped)
	checkErr := <-checked
	switch {
	case errors.Is(checkErr, errEngineStopped) || errors.Is(checkErr, io.ErrClosedPipe):
		// The engine's answer says why it stopped reading, if it did.
		return fmt.Errorf("write volume: %w", cmp.Or(err, checkErr))
	case checkErr != nil:
		return checkErr
	case err != nil:
		return fmt.Errorf("write volume: %w", err)
	}
	return nil
}

// errEngineStopped is what the passing on of an archive to the engine
// meets when the engine stopped reading it.
var errEngineStopped = errors.New("the engine stopped reading the archive before its end")

// DeleteWorldStorage removes the world storage. It is idempotent: a
// storage that does not exist is gone, as wanted. It refuses, with an
// error wrapping spawner.ErrWorldStorageInUse naming the containers, a
// storage a container uses (a server, even stopped but not yet removed,
// or a backup under way), and a volume that is not one of this
// deployment's worlds.
func (r *Runtime) DeleteWorldStorage(ctx context.Context, storage string) error {
	if _, err := r.worldVolume(ctx, storage); errors.Is(err, spawner.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("delete world storage: %w", err)
	}
	if r.busy(storage) {
		return fmt.Errorf("delete world storage %s: %w by a backup or restore under way", storage, spawner.ErrWorldStorageInUse)
	}
	if err := r.removeHelpers(ctx, storage); err != nil {
		return fmt.Errorf("delete world storage %s: %w", storage, err)
	}
	return r.removeVolume(ctx, storage)
}

// removeVolume removes the volume storage, saying which containers use it
// when the engine refuses.
func (r *Runtime) removeVolume(ctx context.Context, storage string) error {
	err := r.cli.VolumeRemove(ctx, storage, false)
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("delete world storage %s: %w by container(s) %s: stop its server first", storage, spawner.ErrWorldStorageInUse, r.volumeUsers(ctx, storage))
	default:
		return fmt.Errorf("delete world storage %s: %w", storage, err)
	}
}

// volumeUsers names the containers that mount the volume storage, for an
// error message.
func (r *Runtime) volumeUsers(ctx context.Context, storage string) string {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("volume", storage))})
	if err != nil || len(list) == 0 {
		return "unknown"
	}
	names := make([]string, 0, len(list))
	for _, c := range list {
		names = append(names, strings.TrimPrefix(firstOr(c.Names, shortID(c.ID)), "/")+" ("+c.State+")")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// PruneWorldStorage removes the deployment's world volumes that keep does
// not name (every storage the world records name): the generations a
// crash left between the making of a new one and the record's write, or
// between that write and the old one's deletion. It removes first the
// helper containers a crash left, which would hold them. It never touches
// another deployment's volumes, nor a storage this process is filling or
// made less than WorldPruneGrace ago. It returns the volumes removed; the
// error joins those that could not be (in use by a container, say).
// The lifecycle calls it at start, once the records are read.
func (r *Runtime) PruneWorldStorage(ctx context.Context, keep map[string]bool) ([]string, error) {
	if err := r.removeHelpers(ctx, ""); err != nil {
		return nil, fmt.Errorf("prune world storage: %w", err)
	}
	list, err := r.cli.VolumeList(ctx, volume.ListOptions{Filters: r.worldFilter()})
	if err != nil {
		return nil, fmt.Errorf("prune world storage: list volumes: %w", err)
	}
	var removed []string
	var errs []error
	for _, v := range list.Volumes {
		if v == nil || keep[v.Name] || !r.ownsVolume(v.Labels) || r.busy(v.Name) || r.isFresh(v.Name) {
			continue
		}
		if err := r.removeVolume(ctx, v.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, v.Name)
	}
	slices.Sort(removed)
	return removed, errors.Join(errs...)
}

// worldFilter selects this deployment's world volumes.
func (r *Runtime) worldFilter() filters.Args {
	return filters.NewArgs(
		filters.Arg("label", LabelStartedBy+"="+spawner.StartedBy),
		filters.Arg("label", LabelDeployment+"="+r.cfg.Deployment),
		filters.Arg("label", LabelWorld),
	)
}

// markFresh spares storage from PruneWorldStorage for WorldPruneGrace.
func (r *Runtime) markFresh(storage string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	for s, at := range r.worldFresh {
		if now.Sub(at) >= WorldPruneGrace {
			delete(r.worldFresh, s)
		}
	}
	r.worldFresh[storage] = now
}

// isFresh reports whether this process made storage less than
// WorldPruneGrace ago.
func (r *Runtime) isFresh(storage string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.worldFresh[storage]
	return ok && r.cfg.Now().Sub(at) < WorldPruneGrace
}
