// Package records holds the server records the store tests write and read
// back, the same for the DynamoDB table and the embedded store.
package records

import (
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// TaskARN is the ECS task of Full.
const TaskARN = "arn:aws:ecs:eu-west-3:123456789012:task/minecraft/0123456789abcdef0123456789abcdef"

// Full is a ready server record with the fields a store keeps set, its
// times to the millisecond, and secrets (Token, RCONPassword) a store must
// keep but never show in its errors.
func Full() spawner.Server {
	created := time.Date(2024, 5, 1, 20, 30, 15, 123_000_000, time.UTC)
	return spawner.Server{
		TaskID:          TaskARN,
		CreationID:      "c-42",
		Game:            "minecraft",
		Variant:         "non_official",
		Owner:           "111111111111111111",
		ChannelID:       "222222222222222222",
		StatusMessageID: "333333333333333333",
		Address:         "203.0.113.7",
		Port:            25566,
		Token:           "s3cr3t-admin-token",
		Locale:          "fr",
		State:           spawner.StateReady,
		CreatedAt:       created,
		RunningAt:       created.Add(90 * time.Second),
		ReadyAt:         created.Add(150*time.Second + 7*time.Millisecond),
		Warnings:        2,
		RuntimeWarned:   true,
		StopsAt:         created.Add(3*time.Hour + 5*time.Millisecond),
		Extensions:      2,
		RCONPassword:    "rcon-pa55",
		GameTemplate:    []byte(`{"name":"valheim","title":"Valheim","port":2456}`),
	}
}

// Pending is a server record still being created: no task yet, the
// fewest fields a store keeps.
func Pending() spawner.Server {
	return spawner.Server{
		CreationID: "c-43",
		Game:       "minecraft",
		Variant:    "official",
		Owner:      "444444444444444444",
		ChannelID:  "555555555555555555",
		Locale:     "en-US",
		State:      spawner.StateRequested,
		CreatedAt:  time.UnixMilli(1714595415999).UTC(),
	}
}

// World is an asleep world's record with every field a store keeps set,
// its times to the millisecond.
func World() spawner.World {
	created := time.Date(2026, 12, 1, 19, 0, 0, 250_000_000, time.UTC)
	return spawner.World{
		ID:             "20261201T190000250Z-0a1b2c3d",
		Owner:          "111111111111111111",
		Game:           "paper",
		Name:           "survival",
		State:          spawner.WorldAsleep,
		Size:           3 << 30,
		LastPlayed:     created.Add(49*time.Hour + 17*time.Millisecond),
		Port:           25570,
		StatusVersion:  "Paper 1.21.4",
		StatusProtocol: 769,
		StatusMax:      40,
		CreatedAt:      created,
		Storage:        "spawner-world-20261201T190000250Z-0a1b2c3d-2",
	}
}

// NewWorld is a world just made for its first server: the fewest fields
// a store keeps, playing the server of creation id server.
func NewWorld(id, server string) spawner.World {
	return spawner.World{
		ID:        id,
		Owner:     "444444444444444444",
		Game:      "valheim",
		Name:      "valheim",
		State:     spawner.WorldRunning,
		CreatedAt: time.UnixMilli(1764615600000).UTC(),
		Server:    server,
	}
}
