package fakeaws_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/testworld/fakeaws"
	"github.com/mineral-contest/spawner/internal/testworld/goaws"
	"github.com/mineral-contest/spawner/internal/testworld/wait"
)

// The envelope has the shape AWS documents for an ECS task state change:
// ISO 8601 times, no tags, an eni attachment, and versions that grow.
func TestEventsAreShapedAsEventBridgeSendsThem(t *testing.T) {
	q := goaws.Start(t)
	srv := fakeaws.New(t, fakeaws.Options{TaskDefinitionFamilies: map[string][]string{"mc": {"game"}}})
	srv.PublishEventsTo(q.QueueURL(goaws.DefaultQueue), q.Endpoint())
	ecsc, _ := clients(t, srv)
	out, err := ecsc.RunTask(wait.Context(t), runInput("tok"))
	if err != nil {
		t.Fatalf("run task: %v", err)
	}
	arn := *out.Tasks[0].TaskArn
	waitStatus(t, srv, arn, "RUNNING")
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Events()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for 3 events out; got %+v", srv.Events())
		}
		time.Sleep(2 * time.Millisecond)
	}
	evs := srv.Events()
	if q.Depth() != 3 {
		t.Errorf("queue depth %d, want the 3 events", q.Depth())
	}
	for i, want := range []string{"PROVISIONING", "PENDING", "RUNNING"} {
		ev := evs[i]
		if ev.Err != nil || ev.LastStatus != want || ev.Version != int64(i+1) || ev.TaskARN != arn {
			t.Errorf("event %d: %+v, want %s v%d of %s sent", i, ev, want, i+1, arn)
		}
	}
	var env struct {
		Version    string   `json:"version"`
		DetailType string   `json:"detail-type"`
		Source     string   `json:"source"`
		Account    string   `json:"account"`
		Region     string   `json:"region"`
		Time       string   `json:"time"`
		Resources  []string `json:"resources"`
		Detail     map[string]any
	}
	if err := json.Unmarshal([]byte(evs[2].Body), &env); err != nil {
		t.Fatalf("envelope: %v\n%s", err, evs[2].Body)
	}
	if env.Version != "0" || env.DetailType != "ECS Task State Change" || env.Source != "aws.ecs" ||
		env.Account != fakeaws.DefaultAccount || env.Region != fakeaws.DefaultRegion || len(env.Resources) != 1 || env.Resources[0] != arn {
		t.Errorf("envelope %+v", env)
	}
	if _, err := time.Parse(time.RFC3339, env.Time); err != nil {
		t.Errorf("time %q: %v", env.Time, err)
	}
	d := env.Detail
	for _, k := range []string{"createdAt", "startedAt", "updatedAt", "pullStartedAt"} {
		s, _ := d[k].(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			t.Errorf("detail.%s = %v, want an ISO 8601 time", k, d[k])
		}
	}
	if d["taskArn"] != arn || d["lastStatus"] != "RUNNING" || d["startedBy"] != "spawner" || d["version"] != 3.0 || d["clusterArn"] != srv.ClusterARN() {
		t.Errorf("detail %v", d)
	}
	if _, ok := d["tags"]; ok {
		t.Errorf("detail carries tags; EventBridge task events do not: %v", d["tags"])
	}
	atts, _ := d["attachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["type"] != "eni" {
		t.Errorf("attachments %v, want one of type eni", d["attachments"])
	}
}
