package sqs

import (
	"strings"
	"testing"
)

// FuzzParse feeds parse what a queue could hold: it never panics, and
// what it accepts names a task, a status and a version. The seeds run as
// a normal test.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"version":"0","id":"e1","detail-type":"ECS Task State Change","source":"aws.ecs","time":"2026-11-26T13:00:00Z",` +
			`"resources":["arn:aws:ecs:eu-west-3:1:task/c/abc"],"detail":{"clusterArn":"arn:aws:ecs:eu-west-3:1:cluster/c",` +
			`"taskArn":"arn:aws:ecs:eu-west-3:1:task/c/abc","lastStatus":"STOPPED","desiredStatus":"STOPPED","version":3,` +
			`"stopCode":"SpotInterruption","containers":[{"name":"m","exitCode":137}],` +
			`"attachments":[{"type":"eni","details":[{"name":"networkInterfaceId","value":"eni-1"}]}]}}`,
		`{"source":"aws.ecs","detail-type":"ECS Task State Change","resources":["a"],"detail":{"lastStatus":"RUNNING","version":1}}`,
		`{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":null}`,
		`{"source":"aws.ecs","detail-type":"ECS Task State Change","detail":{"version":-1,"taskArn":"x","lastStatus":"PENDING","containers":[null]}}`,
		`{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{}}`,
		`{"detail":{"version":"1"}}`,
		`[]`, `null`, ``, `{`, `"x"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := parse(body)
		if err != nil {
			return
		}
		if c.TaskARN == "" || c.LastStatus == "" {
			t.Errorf("parse(%q) accepted a change with no task or status: %+v", body, c)
		}
		if strings.TrimSpace(body) == "" {
			t.Errorf("parse accepted an empty body")
		}
	})
}
