package ecs

// ECS's and EC2's calls as the adapter makes them: the clients, and the
// JSON documents of the six ECS operations, with only the members the
// adapter sends or reads (ECS's API reference names each).

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/mineral-contest/spawner/internal/awsapi"
)

// API is how the adapter reaches ECS: one JSON document in and out per
// operation, as an *awsapi.Client of ECS does; a test may answer with its
// own documents.
type API interface {
	JSON(ctx context.Context, op string, in, out any) error
}

var _ API = (*awsapi.Client)(nil)

// ecsService is ECS's AWS JSON 1.1 protocol.
var ecsService = awsapi.Service{
	ID: "ECS", SigningName: "ecs", EndpointPrefix: "ecs",
	JSONVersion: "1.1", TargetPrefix: "AmazonEC2ContainerServiceV20141113",
}

// NewECS returns the ECS client of cfg, on endpoint when not nil (the
// AWS_ENDPOINT_URL_ECS override), else cfg.BaseEndpoint, else ECS's
// regional endpoint.
func NewECS(cfg aws.Config, endpoint *string) *awsapi.Client {
	return awsapi.New(cfg, ecsService, endpoint)
}

type runTaskInput struct {
	Cluster                  string                 `json:"cluster"`
	TaskDefinition           string                 `json:"taskDefinition"`
	Count                    int32                  `json:"count"`
	CapacityProviderStrategy []capacityProviderItem `json:"capacityProviderStrategy"`
	NetworkConfiguration     networkConfiguration   `json:"networkConfiguration"`
	StartedBy                string                 `json:"startedBy"`
	Tags                     []tag                  `json:"tags,omitempty"`
	PropagateTags            string                 `json:"propagateTags"`
	EnableECSManagedTags     bool                   `json:"enableECSManagedTags"`
	ClientToken              string                 `json:"clientToken,omitempty"`
	Overrides                *taskOverride          `json:"overrides,omitempty"`
}

type capacityProviderItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight"`
}

type networkConfiguration struct {
	AwsvpcConfiguration awsvpcConfiguration `json:"awsvpcConfiguration"`
}

type awsvpcConfiguration struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp"`
}

type taskOverride struct {
	ContainerOverrides []containerOverride `json:"containerOverrides"`
	CPU                string              `json:"cpu,omitempty"`
	Memory             string              `json:"memory,omitempty"`
}

type containerOverride struct {
	Name        string     `json:"name"`
	Environment []keyValue `json:"environment,omitempty"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// tasksOutput is RunTask's and DescribeTasks' answer.
type tasksOutput struct {
	Tasks    []task    `json:"tasks"`
	Failures []failure `json:"failures"`
}

type failure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type task struct {
	TaskArn       string       `json:"taskArn"`
	LastStatus    string       `json:"lastStatus"`
	DesiredStatus string       `json:"desiredStatus"`
	StartedBy     string       `json:"startedBy"`
	StoppedReason string       `json:"stoppedReason"`
	StopCode      string       `json:"stopCode"`
	CreatedAt     epoch        `json:"createdAt"`
	CPU           string       `json:"cpu"`    // vCPU units, "1024"
	Memory        string       `json:"memory"` // MiB, "2048"
	Containers    []container  `json:"containers"`
	Attachments   []attachment `json:"attachments"`
	Tags          []tag        `json:"tags"`
}

type container struct {
	Name     string `json:"name"`
	ExitCode *int32 `json:"exitCode"`
}

type attachment struct {
	Type    string     `json:"type"`
	Details []keyValue `json:"details"`
}

type describeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

type stopTaskInput struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

type listTasksInput struct {
	Cluster       string `json:"cluster"`
	StartedBy     string `json:"startedBy"`
	DesiredStatus string `json:"desiredStatus"`
	MaxResults    int32  `json:"maxResults"`
	NextToken     string `json:"nextToken,omitempty"`
}

type listTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken string   `json:"nextToken"`
}

type describeClustersInput struct {
	Clusters []string `json:"clusters"`
}

type describeClustersOutput struct {
	Clusters []struct {
		ClusterArn        string   `json:"clusterArn"`
		Status            string   `json:"status"`
		CapacityProviders []string `json:"capacityProviders"`
	} `json:"clusters"`
}

type describeTaskDefinitionInput struct {
	TaskDefinition string `json:"taskDefinition"`
}

type describeTaskDefinitionOutput struct {
	TaskDefinition *struct {
		Status               string `json:"status"`
		ContainerDefinitions []struct {
			Name string `json:"name"`
		} `json:"containerDefinitions"`
	} `json:"taskDefinition"`
}

// epoch is a time on the wire: seconds since the epoch, with a fraction,
// as ECS sends them; the zero time when absent. Like the SDK, it keeps
// milliseconds, in UTC.
type epoch time.Time

func (e *epoch) UnmarshalJSON(b []byte) error {
	var f *float64
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		return err
	}
	*e = epoch(time.UnixMilli(int64(*f * 1000)).UTC())
	return nil
}
