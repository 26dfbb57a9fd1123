package ecs

import "github.com/mineral-contest/spawner/internal/spawner"

// TaskOfChange maps what an ECS "Task State Change" event says of a task
// to the domain's Task, with ECS's status words mapped as DescribeTasks'
// answers are. An event carries no tags, so the Task has none: whether the
// task is the bot's is for the caller to decide from its own records.
func TaskOfChange(c spawner.TaskChange) spawner.Task {
	t := spawner.Task{
		ID:            c.TaskARN,
		Status:        statusOf(c.LastStatus),
		StopWanted:    c.DesiredStatus == "STOPPED",
		StartedBy:     c.StartedBy,
		StoppedReason: c.StoppedReason,
		StopCode:      c.StopCode,
		ENI:           c.ENI,
		PrivateIP:     c.PrivateIP,
		CreatedAt:     c.CreatedAt,
	}
	if c.ExitCode != nil {
		code := *c.ExitCode
		t.ExitCode = &code
	}
	return t
}
