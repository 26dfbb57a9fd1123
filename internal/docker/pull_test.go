package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// A pull's progress is told as facts, the bytes of every layer each time
// their share grew by a step, then the extraction, never as a sentence
// (the lifecycle words it in the owner's language); the error a stream
// ends with is returned.
func TestFollowPullProgress(t *testing.T) {
	stream := strings.Join([]string{
		`{"status":"Pulling from itzg/minecraft-server","id":"latest"}`,
		`{"status":"Pulling fs layer","progressDetail":{},"id":"a"}`,
		`{"status":"Downloading","progressDetail":{"current":10485760,"total":104857600},"id":"a"}`,
		`{"status":"Downloading","progressDetail":{"current":11000000,"total":104857600},"id":"a"}`,
		`{"status":"Downloading","progressDetail":{"current":52428800,"total":104857600},"id":"a"}`,
		`{"status":"Download complete","progressDetail":{},"id":"a"}`,
		`{"status":"Extracting","progressDetail":{"current":1,"total":2},"id":"a"}`,
		`{"status":"Extracting","progressDetail":{"current":2,"total":2},"id":"a"}`,
		`{"status":"Pull complete","progressDetail":{},"id":"a"}`,
	}, "\n")
	var told []spawner.PullProgress
	r := &Runtime{cfg: Config{OnPull: func(creation string, progress spawner.PullProgress) {
		if creation != "c1" {
			t.Errorf("progress told for creation %q, want c1", creation)
		}
		told = append(told, progress)
	}}}
	if err := r.follow("c1", "img", strings.NewReader(stream)); err != nil {
		t.Fatalf("follow: %v", err)
	}
	const total = 104857600
	want := []spawner.PullProgress{
		{Image: "img", Phase: spawner.PullDownloading, Done: 10485760, Total: total},
		{Image: "img", Phase: spawner.PullDownloading, Done: 52428800, Total: total},
		{Image: "img", Phase: spawner.PullDownloading, Done: total, Total: total},
		{Image: "img", Phase: spawner.PullExtracting},
	}
	if !slices.Equal(told, want) {
		t.Errorf("told %+v\nwant %+v", told, want)
	}

	err := r.follow("c1", "img", strings.NewReader(`{"status":"Pulling fs layer","id":"a"}`+"\n"+`{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`))
	if err == nil || err.Error() != "manifest unknown" {
		t.Errorf("follow of a failed pull: %v, want the stream's error", err)
	}
}
