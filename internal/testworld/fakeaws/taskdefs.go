package fakeaws

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// TaskDefinition is a task definition registered in the fake
// (Options.TaskDefinitions), in ECS's wire format (AWS JSON 1.1): what
// Terraform's aws_ecs_task_definition registers and DescribeTaskDefinition
// answers, for the fields a game with a world uses (a companion container
// the game depends on, its health check, a volume both mount).
type TaskDefinition struct {
	ContainerDefinitions []ContainerDefinition `json:"containerDefinitions"`
	Volumes              []Volume              `json:"volumes,omitempty"`
	TaskRoleArn          string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn     string                `json:"executionRoleArn,omitempty"`
	CPU                  string                `json:"cpu,omitempty"`    // default "1024"
	Memory               string                `json:"memory,omitempty"` // default "2048"
}

// ContainerDefinition is one container of a TaskDefinition.
type ContainerDefinition struct {
	Name      string   `json:"name"`
	Image     string   `json:"image,omitempty"`     // default registry.example/<name>:latest
	Essential *bool    `json:"essential,omitempty"` // default true
	Command   []string `json:"command,omitempty"`
	User      string   `json:"user,omitempty"`
	// Environment is the definition's own; RunTask's overrides add to it.
	Environment  []KeyValuePair        `json:"environment,omitempty"`
	PortMappings []PortMapping         `json:"portMappings,omitempty"`
	MountPoints  []MountPoint          `json:"mountPoints,omitempty"`
	DependsOn    []ContainerDependency `json:"dependsOn,omitempty"`
	HealthCheck  *HealthCheck          `json:"healthCheck,omitempty"`
	StartTimeout *int32                `json:"startTimeout,omitempty"`
	StopTimeout  *int32                `json:"stopTimeout,omitempty"`
}

// PortMapping is a container's port.
type PortMapping struct {
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
}

// MountPoint mounts a volume of the task in a container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

// ContainerDependency makes a container wait for another one's condition:
// START, COMPLETE, SUCCESS or HEALTHY.
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// HealthCheck is a container's health check, in seconds.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    int32    `json:"interval,omitempty"`
	Timeout     int32    `json:"timeout,omitempty"`
	Retries     int32    `json:"retries,omitempty"`
	StartPeriod int32    `json:"startPeriod,omitempty"`
}

// Volume is a volume of the task; without a host, a bind mount on the
// task's ephemeral storage.
type Volume struct {
	Name string `json:"name"`
}

// essential reports whether c is essential (the default).
func (c ContainerDefinition) essential() bool { return c.Essential == nil || *c.Essential }

// checkTaskDefinition refuses what RegisterTaskDefinition refuses, with
// ECS's words, and fills in the defaults.
func checkTaskDefinition(td TaskDefinition) (TaskDefinition, error) {
	td.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
	if len(td.ContainerDefinitions) == 0 {
		return td, errors.New("ClientException: Container list cannot be empty.")
	}
	volumes := map[string]bool{}
	for _, v := range td.Volumes {
		volumes[v.Name] = true
	}
	byName := map[string]ContainerDefinition{}
	essentials := 0
	for i, c := range td.ContainerDefinitions {
		if c.Name == "" || !isECSName(c.Name) {
			return td, fmt.Errorf("ClientException: Container name %q is invalid.", c.Name)
		}
		if _, dup := byName[c.Name]; dup {
			return td, fmt.Errorf("ClientException: Duplicate container name found: %s. Container names must be unique within a task definition.", c.Name)
		}
		if c.Image == "" {
			td.ContainerDefinitions[i].Image = "registry.example/" + c.Name + ":latest"
		}
		if c.essential() {
			essentials++
		}
		for _, m := range c.MountPoints {
			if !volumes[m.SourceVolume] {
				return td, fmt.Errorf("ClientException: Invalid 'containerDefinition.mountPoints.sourceVolume' for container %s: unknown volume %q.", c.Name, m.SourceVolume)
			}
		}
		if c.HealthCheck != nil && len(c.HealthCheck.Command) < 2 {
			return td, fmt.Errorf("ClientException: Health check command of container %s must be [CMD, ...] or [CMD-SHELL, ...].", c.Name)
		}
		byName[c.Name] = c
	}
	if essentials == 0 {
		return td, errors.New("ClientException: Task definition must have at least one essential container.")
	}
	for _, c := range td.ContainerDefinitions {
		for _, d := range c.DependsOn {
			target, ok := byName[d.ContainerName]
			switch {
			case !ok || d.ContainerName == c.Name:
				return td, fmt.Errorf("ClientException: Container %s depends on %q, which is not another container of the task definition.", c.Name, d.ContainerName)
			case !slices.Contains([]string{"START", "COMPLETE", "SUCCESS", "HEALTHY"}, d.Condition):
				return td, fmt.Errorf("ClientException: Invalid dependency condition %q for container %s.", d.Condition, c.Name)
			case d.Condition == "HEALTHY" && target.HealthCheck == nil:
				return td, fmt.Errorf("ClientException: Container %s has a HEALTHY dependency on %s, which has no health check.", c.Name, d.ContainerName)
			}
		}
	}
	if td.CPU == "" {
		td.CPU = "1024"
	}
	if td.Memory == "" {
		td.Memory = "2048"
	}
	return td, nil
}

func isECSName(v string) bool {
	if len(v) > 255 {
		return false
	}
	for _, r := range v {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// registerTaskDefinitions resolves Options.TaskDefinitions and
// Options.TaskDefinitionFamilies into one definition per family; a
// family named in both must list the same containers.
func registerTaskDefinitions(tb interface{ Errorf(string, ...any) }, opts *Options) map[string]TaskDefinition {
	defs := map[string]TaskDefinition{}
	families := maps.Clone(opts.TaskDefinitionFamilies)
	if families == nil {
		families = map[string][]string{}
	}
	for _, family := range slices.Sorted(maps.Keys(opts.TaskDefinitions)) {
		td, err := checkTaskDefinition(opts.TaskDefinitions[family])
		if err != nil {
			tb.Errorf("fakeaws: task definition %s: %v", family, err)
			continue
		}
		var names []string
		for _, c := range td.ContainerDefinitions {
			names = append(names, c.Name)
		}
		if given, ok := families[family]; ok && !slices.Equal(given, names) {
			tb.Errorf("fakeaws: family %s has containers %v in TaskDefinitionFamilies and %v in TaskDefinitions", family, given, names)
		}
		families[family] = names
		defs[family] = td
	}
	for family, names := range families {
		if _, ok := defs[family]; ok {
			continue
		}
		td := TaskDefinition{CPU: "1024", Memory: "2048"}
		for _, name := range names {
			td.ContainerDefinitions = append(td.ContainerDefinitions, ContainerDefinition{Name: name, Image: "registry.example/" + name + ":latest"})
		}
		defs[family] = td
	}
	opts.TaskDefinitionFamilies = families
	return defs
}

// containerDefinition is the definition of container name in family's
// task definition; the zero value (essential, no health check) for a
// container of no registered definition (an external task's).
func (s *Server) containerDefinition(family, name string) ContainerDefinition {
	for _, c := range s.defs[family].ContainerDefinitions {
		if c.Name == name {
			return c
		}
	}
	return ContainerDefinition{Name: name, Image: "registry.example/" + name + ":latest"}
}

// CrashContainer makes one container of the task exit with exitCode, as
// an essential container that fails does (a companion whose pull failed,
// in PENDING or RUNNING): the task stops on its own with stopCode
// EssentialContainerExited and stoppedReason reason; the containers that
// were running are stopped. Crashing a stopping task or a container the
// task does not have is a test error.
func (s *Server) CrashContainer(arn, name, reason string, exitCode int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTaskLocked(arn, "CrashContainer")
	if t == nil {
		return
	}
	i := t.containerIndex(name)
	switch {
	case i < 0:
		s.tb.Errorf("fakeaws: CrashContainer: task %s has no container %q", arn, name)
		return
	case t.DesiredStatus == "STOPPED":
		s.tb.Errorf("fakeaws: CrashContainer: task %s is already stopping", arn)
		return
	}
	t.containers[i].exitCode = &exitCode
	t.containers[i].reason = reason
	if i == 0 {
		t.ExitCode = &exitCode
	}
	s.beginStopLocked(t, "EssentialContainerExited", reason)
}

// ExitAtStop makes a container of the task exit with exitCode and reason
// when the task is next stopped (StopTask, a Spot interruption, another
// container's crash) instead of 0: a companion whose push failed. Naming a
// container the task does not have is a test error.
func (s *Server) ExitAtStop(arn, name string, exitCode int32, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTaskLocked(arn, "ExitAtStop")
	if t == nil {
		return
	}
	i := t.containerIndex(name)
	if i < 0 {
		s.tb.Errorf("fakeaws: ExitAtStop: task %s has no container %q", arn, name)
		return
	}
	t.containers[i].stopExit = &exitCode
	t.containers[i].stopReason = reason
}

func (t *task) containerIndex(name string) int {
	for i, c := range t.containers {
		if c.name == name {
			return i
		}
	}
	return -1
}
