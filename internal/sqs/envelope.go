package sqs

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// What EventBridge puts in an ECS task state change envelope.
const (
	SourceECS      = "aws.ecs"
	DetailTypeTask = "ECS Task State Change"
)

// envelope is an EventBridge event as the rule delivers it to the queue.
// Unknown fields are ignored: AWS says it may add some at any time.
type envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// taskDetail is the detail of an "ECS Task State Change" event: the task
// much as DescribeTasks shows it, with times as RFC 3339 strings, and no tags.
type taskDetail struct {
	TaskArn       string `json:"taskArn"`
	ClusterArn    string `json:"clusterArn"`
	StartedBy     string `json:"startedBy"`
	Group         string `json:"group"`
	LastStatus    string `json:"lastStatus"`
	DesiredStatus string `json:"desiredStatus"`
	StopCode      string `json:"stopCode"`
	StoppedReason string `json:"stoppedReason"`
	Version       *int64 `json:"version"`
	Attachments   []struct {
		Type    string `json:"type"`
		Details []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"details"`
	} `json:"attachments"`
	Containers []struct {
		Name       string `json:"name"`
		LastStatus string `json:"lastStatus"`
		ExitCode   *int32 `json:"exitCode"`
		Reason     string `json:"reason"`
	} `json:"containers"`
	CreatedAt time.Time `json:"createdAt"`
	StartedAt time.Time `json:"startedAt"`
	StoppedAt time.Time `json:"stoppedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// errNotTaskChange marks an envelope that parses but is not an ECS task
// state change: another rule's event in the same queue. It is foreign, not
// unparsable.
var errNotTaskChange = errors.New("not an ECS task state change")

// parse reads one message body. It returns errNotTaskChange (wrapped) for a
// well-formed event of another kind, and another error for a body that
// cannot be read as a task state change.
func parse(body string) (TaskChange, error) {
	env, err := decodeEnvelope(body)
	if err != nil {
		return TaskChange{}, err
	}
	d, err := decodeDetail(env)
	if err != nil {
		return TaskChange{}, err
	}
	return taskChange(env, d), nil
}

// decodeEnvelope reads body as the envelope of an ECS task state change
// that carries a detail.
func decodeEnvelope(body string) (envelope, error) {
	var env envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return envelope{}, fmt.Errorf("envelope: %w", err)
	}
	if env.Source != SourceECS || env.DetailType != DetailTypeTask {
		if env.Source == "" && env.DetailType == "" {
			return envelope{}, errors.New("envelope: no source nor detail-type")
		}
		return envelope{}, fmt.Errorf("%w: %s %q", errNotTaskChange, env.Source, env.DetailType)
	}
	if len(env.Detail) == 0 {
		return envelope{}, errors.New("envelope: no detail")
	}
	return env, nil
}

// decodeDetail reads env's detail, which must name the task (itself, or
// through the envelope's one resource), its version and its last status.
func decodeDetail(env envelope) (taskDetail, error) {
	var d taskDetail
	if err := json.Unmarshal(env.Detail, &d); err != nil {
		return taskDetail{}, fmt.Errorf("detail: %w", err)
	}
	if d.TaskArn == "" && len(env.Resources) == 1 {
		d.TaskArn = env.Resources[0]
	}
	switch {
	case d.TaskArn == "":
		return taskDetail{}, errors.New("detail: no taskArn")
	case d.Version == nil:
		return taskDetail{}, errors.New("detail: no version")
	case d.LastStatus == "":
		return taskDetail{}, errors.New("detail: no lastStatus")
	}
	return d, nil
}

// taskChange is the change env tells, d being its detail as decodeDetail
// checked it.
func taskChange(env envelope, d taskDetail) TaskChange {
	c := TaskChange{
		TaskARN:       d.TaskArn,
		ClusterARN:    d.ClusterArn,
		StartedBy:     d.StartedBy,
		Group:         d.Group,
		LastStatus:    d.LastStatus,
		DesiredStatus: d.DesiredStatus,
		StopCode:      d.StopCode,
		StoppedReason: d.StoppedReason,
		Version:       *d.Version,
		CreatedAt:     d.CreatedAt,
		StartedAt:     d.StartedAt,
		StoppedAt:     d.StoppedAt,
		UpdatedAt:     d.UpdatedAt,
		EventID:       env.ID,
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = env.Time
	}
	for _, ct := range d.Containers {
		cc := ContainerChange{Name: ct.Name, LastStatus: ct.LastStatus, ExitCode: ct.ExitCode, Reason: ct.Reason}
		if c.ExitCode == nil && ct.ExitCode != nil && ct.Name != worldContainer {
			code := *ct.ExitCode
			c.ExitCode = &code
		}
		c.Containers = append(c.Containers, cc)
	}
	for _, a := range d.Attachments {
		if a.Type != "eni" && a.Type != "ElasticNetworkInterface" {
			continue
		}
		for _, kv := range a.Details {
			switch kv.Name {
			case "networkInterfaceId":
				c.ENI = kv.Value
			case "privateIPv4Address":
				c.PrivateIP = kv.Value
			}
		}
	}
	return c
}
