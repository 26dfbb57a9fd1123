package fakeaws

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The ECS requests the fake understands, as they travel on the wire (AWS
// JSON 1.1). Tests decode recorded calls into them (Call.Decode).

// RunTaskInput is the body of a RunTask request.
type RunTaskInput struct {
	Cluster                  string                         `json:"cluster,omitempty"`
	TaskDefinition           string                         `json:"taskDefinition,omitempty"`
	Count                    *int32                         `json:"count,omitempty"`
	LaunchType               string                         `json:"launchType,omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	Overrides                *TaskOverride                  `json:"overrides,omitempty"`
	StartedBy                string                         `json:"startedBy,omitempty"`
	ClientToken              string                         `json:"clientToken,omitempty"`
	Group                    string                         `json:"group,omitempty"`
	PlatformVersion          string                         `json:"platformVersion,omitempty"`
	Tags                     []Tag                          `json:"tags,omitempty"`
	PropagateTags            string                         `json:"propagateTags,omitempty"`
	EnableECSManagedTags     bool                           `json:"enableECSManagedTags,omitempty"`
	EnableExecuteCommand     bool                           `json:"enableExecuteCommand,omitempty"`
}

// CapacityProviderStrategyItem is one entry of a capacity provider strategy.
type CapacityProviderStrategyItem struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight,omitempty"`
	Base             int32  `json:"base,omitempty"`
}

// NetworkConfiguration is a task's network configuration.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// AwsVpcConfiguration is the awsvpc network configuration.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets,omitempty"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

// TaskOverride overrides parts of the task definition.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides"`
	CPU                string              `json:"cpu,omitempty"`
	Memory             string              `json:"memory,omitempty"`
}

// ContainerOverride overrides one container of the task definition.
type ContainerOverride struct {
	Name        string         `json:"name,omitempty"`
	Command     []string       `json:"command,omitempty"`
	Environment []KeyValuePair `json:"environment,omitempty"`
}

// KeyValuePair is a name and a value (environment variables, attachment details).
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// DescribeTasksInput is the body of a DescribeTasks request.
type DescribeTasksInput struct {
	Cluster string   `json:"cluster,omitempty"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include,omitempty"`
}

// StopTaskInput is the body of a StopTask request.
type StopTaskInput struct {
	Cluster string `json:"cluster,omitempty"`
	Task    string `json:"task"`
	Reason  string `json:"reason,omitempty"`
}

// ListTasksInput is the body of a ListTasks request.
type ListTasksInput struct {
	Cluster       string `json:"cluster,omitempty"`
	Family        string `json:"family,omitempty"`
	StartedBy     string `json:"startedBy,omitempty"`
	DesiredStatus string `json:"desiredStatus,omitempty"`
	LaunchType    string `json:"launchType,omitempty"`
	MaxResults    *int32 `json:"maxResults,omitempty"`
	NextToken     string `json:"nextToken,omitempty"`
}

type describeClustersInput struct {
	Clusters []string `json:"clusters,omitempty"`
}

type describeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include,omitempty"`
}

type listTagsForResourceInput struct {
	ResourceARN string `json:"resourceArn"`
}

// epoch is a time on the wire: seconds since the epoch, as ECS sends them.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1000, 'f', 3, 64), nil
}

func epochOf(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

type wireTask struct {
	TaskArn              string           `json:"taskArn"`
	ClusterArn           string           `json:"clusterArn"`
	TaskDefinitionArn    string           `json:"taskDefinitionArn"`
	LastStatus           string           `json:"lastStatus"`
	DesiredStatus        string           `json:"desiredStatus"`
	StartedBy            string           `json:"startedBy,omitempty"`
	Group                string           `json:"group,omitempty"`
	LaunchType           string           `json:"launchType,omitempty"`
	CapacityProviderName string           `json:"capacityProviderName,omitempty"`
	PlatformVersion      string           `json:"platformVersion"`
	PlatformFamily       string           `json:"platformFamily"`
	CPU                  string           `json:"cpu"`
	Memory               string           `json:"memory"`
	AvailabilityZone     string           `json:"availabilityZone"`
	Connectivity         string           `json:"connectivity,omitempty"`
	ConnectivityAt       *epoch           `json:"connectivityAt,omitempty"`
	CreatedAt            *epoch           `json:"createdAt,omitempty"`
	PullStartedAt        *epoch           `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *epoch           `json:"pullStoppedAt,omitempty"`
	StartedAt            *epoch           `json:"startedAt,omitempty"`
	StoppingAt           *epoch           `json:"stoppingAt,omitempty"`
	ExecutionStoppedAt   *epoch           `json:"executionStoppedAt,omitempty"`
	StoppedAt            *epoch           `json:"stoppedAt,omitempty"`
	StopCode             string           `json:"stopCode,omitempty"`
	StoppedReason        string           `json:"stoppedReason,omitempty"`
	HealthStatus         string           `json:"healthStatus"`
	Version              int64            `json:"version"`
	EnableExecuteCommand bool             `json:"enableExecuteCommand"`
	Attachments          []wireAttachment `json:"attachments"`
	Containers           []wireContainer  `json:"containers"`
	Overrides            TaskOverride     `json:"overrides"`
	Tags                 []Tag            `json:"tags,omitempty"`
}

type wireAttachment struct {
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Details []KeyValuePair `json:"details"`
}

type wireContainer struct {
	ContainerArn      string                 `json:"containerArn"`
	TaskArn           string                 `json:"taskArn"`
	Name              string                 `json:"name"`
	Image             string                 `json:"image"`
	LastStatus        string                 `json:"lastStatus"`
	ExitCode          *int32                 `json:"exitCode,omitempty"`
	Reason            string                 `json:"reason,omitempty"`
	HealthStatus      string                 `json:"healthStatus"`
	CPU               string                 `json:"cpu"`
	NetworkBindings   []struct{}             `json:"networkBindings"`
	NetworkInterfaces []wireNetworkInterface `json:"networkInterfaces"`
}

type wireNetworkInterface struct {
	AttachmentID       string `json:"attachmentId"`
	PrivateIpv4Address string `json:"privateIpv4Address"`
}

type wireFailure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// wire renders t as ECS describes it; tags only when withTags.
func (s *Server) wire(t *task, withTags bool) wireTask {
	w := wireTask{
		TaskArn:              t.ARN,
		ClusterArn:           t.ClusterARN,
		TaskDefinitionArn:    t.TaskDefinitionARN,
		LastStatus:           t.LastStatus,
		DesiredStatus:        t.DesiredStatus,
		StartedBy:            t.StartedBy,
		Group:                t.Group,
		LaunchType:           t.LaunchType,
		CapacityProviderName: t.CapacityProvider,
		PlatformVersion:      "1.4.0",
		PlatformFamily:       "Linux",
		CPU:                  "1024",
		Memory:               "2048",
		AvailabilityZone:     s.opts.Region + "a",
		CreatedAt:            epochOf(t.CreatedAt),
		PullStartedAt:        epochOf(t.pullAt),
		StartedAt:            epochOf(t.StartedAt),
		StoppingAt:           epochOf(t.stoppingAt),
		StoppedAt:            epochOf(t.StoppedAt),
		ExecutionStoppedAt:   epochOf(t.StoppedAt),
		StopCode:             t.StopCode,
		StoppedReason:        t.StoppedReason,
		HealthStatus:         s.taskHealth(t),
		Version:              t.version,
		Overrides:            TaskOverride{ContainerOverrides: []ContainerOverride{}},
	}
	if t.overrides != nil {
		w.Overrides = *t.overrides
	}
	if !t.StartedAt.IsZero() {
		w.Connectivity = "CONNECTED"
		w.ConnectivityAt = epochOf(t.StartedAt)
		w.PullStoppedAt = epochOf(t.StartedAt)
	}
	if withTags {
		w.Tags = tagList(t.Tags)
	}
	attachmentID := fmt.Sprintf("%08x-aaaa-4000-8000-%012x", t.n, t.n)
	subnet := ""
	if len(t.Subnets) > 0 {
		subnet = t.Subnets[0]
	}
	eni := wireAttachment{ID: attachmentID, Type: "ElasticNetworkInterface", Details: []KeyValuePair{{"subnetId", subnet}}}
	attached := !t.pullAt.IsZero() // the ENI is attached at the end of PROVISIONING
	switch {
	case !attached && t.LastStatus == "STOPPED":
		eni.Status = "DELETED"
	case !attached:
		eni.Status = "PRECREATED"
	case t.LastStatus == "STOPPED":
		eni.Status = "DELETED"
	case t.DesiredStatus == "STOPPED":
		eni.Status = "DETACHING"
	default:
		eni.Status = "ATTACHED"
	}
	if attached {
		eni.Details = append(eni.Details,
			KeyValuePair{"networkInterfaceId", t.ENI},
			KeyValuePair{"macAddress", fmt.Sprintf("0a:00:00:%02x:%02x:%02x", t.n>>16&0xff, t.n>>8&0xff, t.n&0xff)},
			KeyValuePair{"privateDnsName", "ip-" + strings.ReplaceAll(t.PrivateIP, ".", "-") + "." + s.opts.Region + ".compute.internal"},
			KeyValuePair{"privateIPv4Address", t.PrivateIP},
		)
	}
	w.Attachments = []wireAttachment{eni}
	for _, c := range t.containers {
		wc := wireContainer{
			ContainerArn:      c.arn,
			TaskArn:           t.ARN,
			Name:              c.name,
			Image:             c.image,
			LastStatus:        containerStatus(t),
			ExitCode:          c.exitCode,
			Reason:            c.reason,
			HealthStatus:      containerHealth(t, c),
			CPU:               "0",
			NetworkBindings:   []struct{}{},
			NetworkInterfaces: []wireNetworkInterface{},
		}
		if attached {
			wc.NetworkInterfaces = []wireNetworkInterface{{AttachmentID: attachmentID, PrivateIpv4Address: t.PrivateIP}}
		}
		w.Containers = append(w.Containers, wc)
	}
	return w
}

// containerHealth is HEALTHY while a container with a health check runs
// (the fake's checks always pass), UNKNOWN otherwise.
func containerHealth(t *task, c container) string {
	if c.health && c.exitCode == nil && containerStatus(t) == "RUNNING" {
		return "HEALTHY"
	}
	return "UNKNOWN"
}

// taskHealth is what ECS says of a task's health: that of its essential
// containers with a health check, UNKNOWN when it has none.
func (s *Server) taskHealth(t *task) string {
	checked := false
	for _, c := range t.containers {
		if !c.health || !s.containerDefinition(t.Family, c.name).essential() {
			continue
		}
		checked = true
		if containerHealth(t, c) != "HEALTHY" {
			return "UNKNOWN"
		}
	}
	if !checked {
		return "UNKNOWN"
	}
	return "HEALTHY"
}

func containerStatus(t *task) string {
	switch t.LastStatus {
	case "PROVISIONING", "PENDING":
		return "PENDING"
	case "RUNNING":
		return "RUNNING"
	}
	if t.StartedAt.IsZero() {
		return "STOPPED"
	}
	if t.LastStatus == "STOPPED" {
		return "STOPPED"
	}
	return "RUNNING" // STOPPING: the container is being stopped
}

func tagList(m map[string]string) []Tag {
	tags := make([]Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, Tag{k, m[k]})
	}
	return tags
}

var ecsOps = map[string]func(*Server, []byte) (any, *apiError){
	"RunTask":                (*Server).runTask,
	"DescribeTasks":          (*Server).describeTasks,
	"StopTask":               (*Server).stopTask,
	"ListTasks":              (*Server).listTasks,
	"DescribeClusters":       (*Server).describeClusters,
	"DescribeTaskDefinition": (*Server).describeTaskDefinition,
	"ListTagsForResource":    (*Server).listTagsForResource,
}

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "fakeaws: " + err.Error()}
	}
	return nil
}

// clusterOK checks that ref (a name, an ARN, or "" for the default
// cluster) names the fake's cluster.
func (s *Server) clusterOK(ref string) *apiError {
	if ref == "" {
		ref = "default"
	}
	if ref == s.opts.ClusterName || ref == s.ClusterARN() {
		return nil
	}
	return &apiError{http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found."}
}

// family resolves a task definition reference (family, family:revision or
// ARN) to a registered family.
func (s *Server) family(ref string) (string, bool) {
	name := ref
	if i := strings.LastIndex(name, "task-definition/"); strings.HasPrefix(name, "arn:") && i >= 0 {
		name = name[i+len("task-definition/"):]
	}
	if fam, rev, ok := strings.Cut(name, ":"); ok {
		if rev != "1" {
			return "", false
		}
		name = fam
	}
	_, ok := s.opts.TaskDefinitionFamilies[name]
	return name, ok
}

func (s *Server) runTask(body []byte) (any, *apiError) {
	var in RunTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.clusterOK(in.Cluster); err != nil {
		return nil, err
	}
	if s.opts.ClusterStatus != "ACTIVE" {
		return nil, &apiError{http.StatusBadRequest, "ClusterNotFoundException", "The referenced cluster was inactive."}
	}
	if in.TaskDefinition == "" {
		return nil, invalidParameter("TaskDefinition can not be blank.")
	}
	family, ok := s.family(in.TaskDefinition)
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "ClientException", "TaskDefinition not found."}
	}
	containers := s.opts.TaskDefinitionFamilies[family]
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParameter("Count must be between 1 and 10.")
	}
	if len(in.ClientToken) > 64 {
		return nil, invalidParameter("clientToken must be at most 64 characters.")
	}
	if in.LaunchType != "" && len(in.CapacityProviderStrategy) > 0 {
		return nil, invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	provider := ""
	if len(in.CapacityProviderStrategy) > 0 {
		for _, item := range in.CapacityProviderStrategy {
			if !slices.Contains(s.opts.CapacityProviders, item.CapacityProvider) {
				return nil, invalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
			}
		}
		provider = in.CapacityProviderStrategy[0].CapacityProvider
	} else if in.LaunchType != "" && in.LaunchType != "FARGATE" {
		return nil, invalidParameter("fakeaws only runs Fargate tasks, not launch type %s.", in.LaunchType)
	}
	vpc := (*AwsVpcConfiguration)(nil)
	if in.NetworkConfiguration != nil {
		vpc = in.NetworkConfiguration.AwsvpcConfiguration
	}
	if vpc == nil {
		return nil, invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if len(vpc.Subnets) == 0 {
		return nil, invalidParameter("subnets can not be empty.")
	}
	public := vpc.AssignPublicIP
	switch public {
	case "":
		public = "DISABLED"
	case "ENABLED", "DISABLED":
	default:
		return nil, invalidParameter("assignPublicIp must be ENABLED or DISABLED.")
	}
	if in.Overrides != nil {
		if b, _ := json.Marshal(in.Overrides.ContainerOverrides); len(b) > 8192 {
			return nil, invalidParameter("Container Overrides length must be at most 8192")
		}
		for _, o := range in.Overrides.ContainerOverrides {
			if !slices.Contains(containers, o.Name) {
				return nil, invalidParameter("Override for container named %s is not a container in the TaskDefinition.", o.Name)
			}
		}
	}
	if len(in.Tags) > 50 {
		return nil, invalidParameter("Tags can not have more than 50 entries.")
	}
	tags := make(map[string]string, len(in.Tags)+1)
	for _, tag := range in.Tags {
		switch {
		case tag.Key == "" || utf8.RuneCountInString(tag.Key) > 128:
			return nil, invalidParameter("Tag keys must be between 1 and 128 characters.")
		case utf8.RuneCountInString(tag.Value) > 256:
			return nil, invalidParameter("Tag values must be at most 256 characters.")
		case strings.HasPrefix(strings.ToLower(tag.Key), "aws:"):
			return nil, invalidParameter("Tag keys may not begin with aws:.")
		}
		tags[tag.Key] = tag.Value
	}
	switch in.PropagateTags {
	case "", "NONE", "TASK_DEFINITION":
	default:
		return nil, invalidParameter("propagateTags must be TASK_DEFINITION or NONE for a task that is not part of a service.")
	}
	if in.EnableECSManagedTags {
		tags["aws:ecs:clusterName"] = s.opts.ClusterName
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if in.ClientToken != "" {
		if started, ok := s.byToken[in.ClientToken]; ok {
			out := runTaskOutput{Tasks: []wireTask{}, Failures: []wireFailure{}}
			for _, t := range started {
				out.Tasks = append(out.Tasks, s.wire(t, true))
			}
			return out, nil
		}
	}
	if len(s.runFailures) > 0 {
		reason := s.runFailures[0]
		s.runFailures = s.runFailures[1:]
		return runTaskOutput{Tasks: []wireTask{}, Failures: []wireFailure{{Arn: s.TaskDefinitionARN(family), Reason: reason}}}, nil
	}
	group := in.Group
	if group == "" {
		group = "family:" + family
	}
	out := runTaskOutput{Tasks: []wireTask{}, Failures: []wireFailure{}}
	for i := int32(0); i < count; i++ {
		t := s.newTaskLocked(family, containers, public)
		t.StartedBy = in.StartedBy
		t.ClientToken = in.ClientToken
		t.Group = group
		t.CapacityProvider = provider
		t.LaunchType = "FARGATE"
		t.Subnets = append([]string(nil), vpc.Subnets...)
		t.SecurityGroups = append([]string(nil), vpc.SecurityGroups...)
		t.Tags = maps.Clone(tags)
		t.CreatedAt = s.opts.Now()
		t.Input = &in
		t.overrides = in.Overrides
		if len(s.failStarts) > 0 {
			t.failStart = s.failStarts[0]
			s.failStarts = s.failStarts[1:]
		}
		if len(s.holdNext) > 0 {
			t.holdAt = s.holdNext[0]
			s.holdNext = s.holdNext[1:]
		}
		if in.ClientToken != "" {
			s.byToken[in.ClientToken] = append(s.byToken[in.ClientToken], t)
		}
		s.scheduleLocked(t)
		out.Tasks = append(out.Tasks, s.wire(t, true))
	}
	return out, nil
}

type runTaskOutput struct {
	Tasks    []wireTask    `json:"tasks"`
	Failures []wireFailure `json:"failures"`
}

func (s *Server) describeTasks(body []byte) (any, *apiError) {
	var in DescribeTasksInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.clusterOK(in.Cluster); err != nil {
		return nil, err
	}
	if len(in.Tasks) == 0 {
		return nil, invalidParameter("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParameter("Tasks cannot have more than 100 elements.")
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := struct {
		Tasks    []wireTask    `json:"tasks"`
		Failures []wireFailure `json:"failures"`
	}{Tasks: []wireTask{}, Failures: []wireFailure{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range in.Tasks {
		t := s.lookupLocked(ref)
		if t == nil {
			out.Failures = append(out.Failures, wireFailure{Arn: ref, Reason: "MISSING"})
			continue
		}
		out.Tasks = append(out.Tasks, s.wire(t, withTags))
	}
	return out, nil
}

func (s *Server) stopTask(body []byte) (any, *apiError) {
	var in StopTaskInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.clusterOK(in.Cluster); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(in.Reason) > 255 {
		return nil, invalidParameter("Reason can not be longer than 255 characters.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupLocked(in.Task)
	if t == nil {
		return nil, invalidParameter("The referenced task was not found.")
	}
	if t.DesiredStatus != "STOPPED" {
		reason := in.Reason
		if reason == "" {
			reason = "Task stopped by user"
		}
		s.beginStopLocked(t, "UserInitiated", reason)
	}
	return struct {
		Task wireTask `json:"task"`
	}{s.wire(t, true)}, nil
}

func (s *Server) listTasks(body []byte) (any, *apiError) {
	var in ListTasksInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.clusterOK(in.Cluster); err != nil {
		return nil, err
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, invalidParameter("maxResults must be between 1 and 100.")
		}
		limit = int(*in.MaxResults)
	}
	desired := in.DesiredStatus
	if desired == "" {
		desired = "RUNNING"
	}
	after := 0 // creation number of the last task of the previous page
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		n, cerr := strconv.Atoi(strings.TrimPrefix(string(b), "after:"))
		if err != nil || cerr != nil || !strings.HasPrefix(string(b), "after:") {
			return nil, invalidParameter("Invalid nextToken.")
		}
		after = n
	}
	out := struct {
		TaskArns  []string `json:"taskArns"`
		NextToken string   `json:"nextToken,omitempty"`
	}{TaskArns: []string{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	// s.tasks[i] is the task created i+1th, so the page starts at index after.
	for i := min(max(after, 0), len(s.tasks)); i < len(s.tasks); i++ {
		t := s.tasks[i]
		if t.DesiredStatus != desired ||
			(in.StartedBy != "" && t.StartedBy != in.StartedBy) ||
			(in.Family != "" && t.Family != in.Family) ||
			(in.LaunchType != "" && t.LaunchType != in.LaunchType) {
			continue
		}
		if len(out.TaskArns) == limit {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.Itoa(t.n-1)))
			break
		}
		out.TaskArns = append(out.TaskArns, t.ARN)
	}
	return out, nil
}

func (s *Server) describeClusters(body []byte) (any, *apiError) {
	var in describeClustersInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	type wireCluster struct {
		ClusterArn                        string   `json:"clusterArn"`
		ClusterName                       string   `json:"clusterName"`
		Status                            string   `json:"status"`
		RegisteredContainerInstancesCount int      `json:"registeredContainerInstancesCount"`
		RunningTasksCount                 int      `json:"runningTasksCount"`
		PendingTasksCount                 int      `json:"pendingTasksCount"`
		ActiveServicesCount               int      `json:"activeServicesCount"`
		CapacityProviders                 []string `json:"capacityProviders"`
	}
	out := struct {
		Clusters []wireCluster `json:"clusters"`
		Failures []wireFailure `json:"failures"`
	}{Clusters: []wireCluster{}, Failures: []wireFailure{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ref := range refs {
		if s.clusterOK(ref) != nil {
			arn := ref
			if !strings.HasPrefix(arn, "arn:") {
				arn = fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", s.opts.Region, s.opts.Account, ref)
			}
			out.Failures = append(out.Failures, wireFailure{Arn: arn, Reason: "MISSING"})
			continue
		}
		c := wireCluster{
			ClusterArn:        s.ClusterARN(),
			ClusterName:       s.opts.ClusterName,
			Status:            s.opts.ClusterStatus,
			CapacityProviders: s.opts.CapacityProviders,
		}
		for _, t := range s.tasks {
			switch t.LastStatus {
			case "RUNNING":
				c.RunningTasksCount++
			case "PROVISIONING", "PENDING":
				c.PendingTasksCount++
			}
		}
		out.Clusters = append(out.Clusters, c)
	}
	return out, nil
}

func (s *Server) describeTaskDefinition(body []byte) (any, *apiError) {
	var in describeTaskDefinitionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, &apiError{http.StatusBadRequest, "ClientException", "TaskDefinition can not be blank."}
	}
	family, ok := s.family(in.TaskDefinition)
	if !ok {
		return nil, &apiError{http.StatusBadRequest, "ClientException", "Unable to describe task definition."}
	}
	type taskDefinition struct {
		TaskDefinitionArn       string   `json:"taskDefinitionArn"`
		Family                  string   `json:"family"`
		Revision                int      `json:"revision"`
		Status                  string   `json:"status"`
		NetworkMode             string   `json:"networkMode"`
		Compatibilities         []string `json:"compatibilities"`
		RequiresCompatibilities []string `json:"requiresCompatibilities"`
		RegisteredAt            *epoch   `json:"registeredAt"`
		TaskDefinition
	}
	def := s.defs[family]
	td := taskDefinition{
		TaskDefinitionArn:       s.TaskDefinitionARN(family),
		Family:                  family,
		Revision:                1,
		Status:                  "ACTIVE",
		NetworkMode:             "awsvpc",
		Compatibilities:         []string{"EC2", "FARGATE"},
		RequiresCompatibilities: []string{"FARGATE"},
		RegisteredAt:            epochOf(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		TaskDefinition:          def,
	}
	// ECS answers every container's essential flag, environment and
	// port mappings, empty or not.
	td.ContainerDefinitions = slices.Clone(def.ContainerDefinitions)
	for i, c := range td.ContainerDefinitions {
		essential := c.essential()
		c.Essential = &essential
		if c.Environment == nil {
			c.Environment = []KeyValuePair{}
		}
		if c.PortMappings == nil {
			c.PortMappings = []PortMapping{}
		}
		if c.MountPoints == nil {
			c.MountPoints = []MountPoint{}
		}
		td.ContainerDefinitions[i] = c
	}
	if td.Volumes == nil {
		td.Volumes = []Volume{}
	}
	out := struct {
		TaskDefinition taskDefinition `json:"taskDefinition"`
		Tags           []Tag          `json:"tags,omitempty"`
	}{TaskDefinition: td}
	if slices.Contains(in.Include, "TAGS") {
		out.Tags = []Tag{}
	}
	return out, nil
}

func (s *Server) listTagsForResource(body []byte) (any, *apiError) {
	var in listTagsForResourceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	out := struct {
		Tags []Tag `json:"tags"`
	}{Tags: []Tag{}}
	if in.ResourceARN == s.ClusterARN() {
		return out, nil
	}
	if fam, ok := s.family(in.ResourceARN); ok && in.ResourceARN == s.TaskDefinitionARN(fam) {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byARN[in.ResourceARN]
	if !ok {
		return nil, invalidParameter("The specified resource could not be found.")
	}
	out.Tags = tagList(t.Tags)
	return out, nil
}
