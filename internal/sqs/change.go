package sqs

import (
	"fmt"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TaskChange is what one ECS "Task State Change" event tells of a task:
// the task as ECS saw it at Version. Events come at least once and in no
// guaranteed order; Run hands on only changes newer than the last one it
// handed on for the task, so each may be taken as the task's latest known
// state.
//
// LastStatus and DesiredStatus are ECS's own words (PROVISIONING,
// PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING,
// STOPPED). An event carries no tags: whether a task belongs to this
// deployment is decided from StartedBy, the cluster (both checked by Run)
// and whether the bot knows TaskARN from its own records.
type TaskChange struct {
	TaskARN       string
	ClusterARN    string
	StartedBy     string
	Group         string // e.g. "family:minecraft"
	LastStatus    string
	DesiredStatus string
	// StopCode says why a stopping task stops: SpotInterruption,
	// TaskFailedToStart, EssentialContainerExited, UserInitiated, or
	// another code ECS may add.
	StopCode      string
	StoppedReason string
	// Version is detail.version: it grows with every change of the task.
	Version int64
	// ExitCode is the exit code of the game: the first container that
	// has one and is not the world's companion (worldContainer), which
	// exits too and which ECS may list first.
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

// worldContainer is the name of the companion container that pulls and
// pushes the world of a game with one: ecs.WorldContainer, which this
// adapter may not import.
const worldContainer = "world"

// Hint is what the lifecycle is told of c: which task may have changed,
// and whether it is stopping (asked to stop, stopped, or given a stop
// code: a Spot interruption is a task asked to stop). It is a hint to
// look, never a fact to act on: the lifecycle asks ECS before it ends or
// warns anything, so Hint leaves Status unknown. The reason and the exit
// code are what the lifecycle tells when ECS no longer knows the task.
// As DescribeTasks tells it (package ecs), the exit code is the game's,
// and the world's companion exiting with a failure is WorldSaveFailed,
// told at the end of the reason.
func (c TaskChange) Hint() spawner.Task {
	t := spawner.Task{
		ID:            c.TaskARN,
		StopWanted:    c.DesiredStatus == "STOPPED" || c.LastStatus == "STOPPED" || c.StopCode != "",
		StartedBy:     c.StartedBy,
		StoppedReason: c.StoppedReason,
		CreatedAt:     c.CreatedAt,
	}
	if t.StoppedReason == "" {
		t.StoppedReason = c.StopCode
	}
	if c.ExitCode != nil {
		code := *c.ExitCode
		t.ExitCode = &code
	}
	for _, ct := range c.Containers {
		if ct.Name == worldContainer && ct.ExitCode != nil && *ct.ExitCode != 0 {
			t.WorldSaveFailed = true
			t.StoppedReason = strings.TrimPrefix(fmt.Sprintf("%s; the world's companion container exited with code %d", t.StoppedReason, *ct.ExitCode), "; ")
		}
	}
	return t
}
