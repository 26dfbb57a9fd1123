package docker

import (
	"strings"
	"testing"
)

// A pull's progress is told as the share of every layer's bytes, in steps,
// and the error a stream ends with is returned.
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
	var told []string
	r := &Runtime{cfg: Config{OnPull: func(creation, progress string) {
		if creation != "c1" {
			t.Errorf("progress told for creation %q, want c1", creation)
		}
		told = append(told, progress)
	}}}
	if err := r.follow("c1", "img", strings.NewReader(stream)); err != nil {
		t.Fatalf("follow: %v", err)
	}
	want := []string{
		"downloading image img: 10% of 100 MB",
		"downloading image img: 50% of 100 MB",
		"downloading image img: 100% of 100 MB",
		"extracting image img",
	}
	if strings.Join(told, "|") != strings.Join(want, "|") {
		t.Errorf("told %q\nwant %q", told, want)
	}

	err := r.follow("c1", "img", strings.NewReader(`{"status":"Pulling fs layer","id":"a"}`+"\n"+`{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}`))
	if err == nil || err.Error() != "manifest unknown" {
		t.Errorf("follow of a failed pull: %v, want the stream's error", err)
	}
}
