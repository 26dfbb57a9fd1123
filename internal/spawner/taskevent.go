package spawner

import "time"

// Stop codes ECS gives a stopped task (TaskChange.StopCode, Task.StopCode)
// that the bot branches on.
const (
	// StopSpotInterruption: Fargate Spot is reclaiming the capacity; the task
	// is stopped within two minutes of the first event that says so.
	StopSpotInterruption  = "SpotInterruption"
	StopTaskFailedToStart = "TaskFailedToStart"
	StopEssentialExited   = "EssentialContainerExited"
	StopUserInitiated     = "UserInitiated"
)

// TaskChange is what one ECS "Task State Change" event tells of a task: the
// task as ECS saw it at Version. Events come at least once and in no
// guaranteed order; the events adapter hands on only changes newer than the
// last one it applied for the task, so a consumer of TaskChange may take
// each as the task's latest known state.
//
// LastStatus and DesiredStatus are ECS's own words (PROVISIONING, PENDING,
// ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED), as in
// Task, so that mapping them to the bot's states stays in one place, next to
// Task's. TaskChange has no methods on purpose: the lifecycle maps it to
// Task (or to the domain's status type) where it maps Task.
//
// An event carries no tags: whether a task belongs to this deployment is
// decided from StartedBy, the cluster (both already checked by the adapter)
// and whether the bot knows TaskARN from its own records. A change of a task
// it has no record of is left to the sweep, which reads the tags.
type TaskChange struct {
	TaskARN       string
	ClusterARN    string
	StartedBy     string
	Group         string // e.g. "family:minecraft"
	LastStatus    string
	DesiredStatus string
	// StopCode says why a stopping task stops: StopSpotInterruption,
	// StopTaskFailedToStart, StopEssentialExited, StopUserInitiated, or
	// another code ECS may add.
	StopCode      string
	StoppedReason string
	// Version is detail.version: it grows with every change of the task.
	Version int64
	// ExitCode is the exit code of the first container that has one (the
	// game container in a task of one container), as Task.ExitCode.
	ExitCode   *int32
	Containers []ContainerChange
	ENI        string // network interface id of the awsvpc attachment, once attached
	PrivateIP  string
	CreatedAt  time.Time
	StartedAt  time.Time // zero until RUNNING
	StoppedAt  time.Time // zero until STOPPED
	UpdatedAt  time.Time // detail.updatedAt: when ECS made the change
	// EventID is the EventBridge event id, for logs.
	EventID string
}

// ContainerChange is one container of a TaskChange.
type ContainerChange struct {
	Name       string
	LastStatus string
	ExitCode   *int32 // once it exited
	Reason     string
}
