package fakeaws

import (
	"strings"
	"testing"
)

// TestTaskDefinitionRefused: what RegisterTaskDefinition refuses, the fake
// refuses to register.
func TestTaskDefinitionRefused(t *testing.T) {
	no := false
	health := &HealthCheck{Command: []string{"CMD", "/spawner", "world", "ready"}}
	for _, tc := range []struct {
		name string
		td   TaskDefinition
		want string
	}{
		{"no container", TaskDefinition{}, "Container list cannot be empty"},
		{"twice the same name", TaskDefinition{ContainerDefinitions: []ContainerDefinition{{Name: "game"}, {Name: "game"}}}, "Duplicate container name found: game"},
		{"no essential container", TaskDefinition{ContainerDefinitions: []ContainerDefinition{{Name: "game", Essential: &no}}}, "at least one essential container"},
		{"an unknown volume", TaskDefinition{ContainerDefinitions: []ContainerDefinition{{Name: "game", MountPoints: []MountPoint{{SourceVolume: "world", ContainerPath: "/data"}}}}}, `unknown volume "world"`},
		{"a dependency on nothing", TaskDefinition{ContainerDefinitions: []ContainerDefinition{{Name: "game", DependsOn: []ContainerDependency{{ContainerName: "world", Condition: "HEALTHY"}}}}}, `depends on "world"`},
		{"HEALTHY without a health check", TaskDefinition{ContainerDefinitions: []ContainerDefinition{
			{Name: "game", DependsOn: []ContainerDependency{{ContainerName: "world", Condition: "HEALTHY"}}}, {Name: "world"},
		}}, "which has no health check"},
		{"an unknown condition", TaskDefinition{ContainerDefinitions: []ContainerDefinition{
			{Name: "game", DependsOn: []ContainerDependency{{ContainerName: "world", Condition: "READY"}}}, {Name: "world", HealthCheck: health},
		}}, `Invalid dependency condition "READY"`},
		{"a health check without a command", TaskDefinition{ContainerDefinitions: []ContainerDefinition{{Name: "world", HealthCheck: &HealthCheck{Command: []string{"CMD"}}}}}, "Health check command of container world"},
		{"a bad name", TaskDefinition{ContainerDefinitions: []ContainerDefinition{{Name: "my game"}}}, `Container name "my game" is invalid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkTaskDefinition(tc.td)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("registered with %v, want a refusal saying %q", err, tc.want)
			}
		})
	}
	td, err := checkTaskDefinition(TaskDefinition{ContainerDefinitions: []ContainerDefinition{
		{Name: "game", DependsOn: []ContainerDependency{{ContainerName: "world", Condition: "HEALTHY"}}}, {Name: "world", HealthCheck: health},
	}})
	if err != nil || td.CPU != "1024" || td.ContainerDefinitions[1].Image != "registry.example/world:latest" {
		t.Errorf("a valid definition: %v, %+v", err, td)
	}
}
