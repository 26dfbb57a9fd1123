package backup

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// A backup is stored as two files (or objects) side by side: its archive,
// "<backup id>.tar.gz", and its description, "<backup id>.json", written
// after the archive is complete. Only a backup with both is listed.
const (
	archiveExt = ".tar.gz"
	metaExt    = ".json"
)

// meta is the stored description of a backup.
type meta struct {
	Version     int       `json:"version"`
	ID          string    `json:"id"`
	World       string    `json:"world"`
	Time        time.Time `json:"time"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentSize int64     `json:"contentSize"`
	Reason      string    `json:"reason"`
}

func encodeMeta(b spawner.Backup) ([]byte, error) {
	return json.MarshalIndent(meta{
		Version: 1, ID: b.ID, World: b.WorldID, Time: b.Time.UTC(), Size: b.Size,
		SHA256: b.SHA256, ContentSize: b.ContentSize, Reason: string(b.Reason),
	}, "", "  ")
}

// decodeMeta reads the description of backup id of world worldID, and
// refuses one that describes another backup or lacks what a restore needs.
func decodeMeta(data []byte, worldID, id string) (spawner.Backup, error) {
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return spawner.Backup{}, fmt.Errorf("backup %s: description: %w", id, err)
	}
	b := spawner.Backup{ID: m.ID, WorldID: m.World, Time: m.Time, Size: m.Size, SHA256: m.SHA256,
		ContentSize: m.ContentSize, Reason: spawner.BackupReason(m.Reason)}
	switch {
	case m.Version != 1:
		return b, fmt.Errorf("backup %s: description version %d unknown", id, m.Version)
	case b.ID != id || b.WorldID != worldID:
		return b, fmt.Errorf("backup %s: the description is of backup %s of world %s", id, b.ID, b.WorldID)
	case len(b.SHA256) != 64 || b.Size <= 0 || b.ContentSize < 0:
		return b, fmt.Errorf("backup %s: the description has no checksum or size", id)
	}
	return b, nil
}

// newestFirst sorts backups newest first (by time, then id).
func newestFirst(list []spawner.Backup) {
	slices.SortFunc(list, func(a, b spawner.Backup) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}
