package config

import (
	"strings"
	"testing"
	"time"
)

// TestLoadWorlds: the worlds' bucket, its endpoint, the backups kept and
// how long an asleep world keeps its port.
func TestLoadWorlds(t *testing.T) {
	c := mustLoad(t, requiredEnv())
	equal(t, c.WorldBucket, "")
	equal(t, c.WorldBackupsKeep, 5)
	equal(t, c.WorldSleepMax, 168*time.Hour)

	c = mustLoad(t, with(requiredEnv(), map[string]string{
		"WORLD_S3_BUCKET":     "spawner-worlds-123456789012",
		"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
		"WORLD_BACKUPS_KEEP":  "100",
		"WORLD_SLEEP_MAX":     "1h",
	}))
	equal(t, c.WorldBucket, "spawner-worlds-123456789012")
	equal(t, c.S3Endpoint, "http://127.0.0.1:9000")
	equal(t, c.WorldBackupsKeep, 100)
	equal(t, c.WorldSleepMax, time.Hour)

	// A bucket under Docker needs the region, as a table does.
	errs := loadErrors(t, with(dockerEnv(), map[string]string{"WORLD_S3_BUCKET": "worlds.example.org"}))
	equal(t, errs.Vars(), []string{"AWS_REGION"})
	c = mustLoad(t, with(dockerEnv(), map[string]string{"WORLD_S3_BUCKET": "worlds.example.org", "AWS_REGION": "eu-west-3"}))
	equal(t, c.WorldBucket, "worlds.example.org")
	equal(t, c.EmbeddedStore(), true)
}

// TestLoadWorldsMalformed: each problem names its variable and its bounds.
func TestLoadWorldsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"WORLD_S3_BUCKET", "s3://spawner-worlds/worlds", `use "spawner-worlds" instead of "s3://spawner-worlds/worlds"`},
		{"WORLD_S3_BUCKET", "arn:aws:s3:::spawner-worlds", `use "spawner-worlds"`},
		{"WORLD_S3_BUCKET", "Spawner_Worlds", `must be an S3 bucket's name (3 to 63 lowercase letters, digits, dots and hyphens), like spawner-worlds-123456789012, got "Spawner_Worlds"`},
		{"WORLD_S3_BUCKET", "ab", "got \"ab\""},
		{"WORLD_S3_BUCKET", "-worlds", "got \"-worlds\""},
		{"WORLD_S3_BUCKET", "worlds.", "got \"worlds.\""},
		{"WORLD_S3_BUCKET", "my..worlds", "got \"my..worlds\""},
		{"WORLD_S3_BUCKET", strings.Repeat("w", 64), "lowercase letters"},
		{"AWS_ENDPOINT_URL_S3", "localhost:9000", "must be an http or https URL"},
		{"WORLD_BACKUPS_KEEP", "0", `must be a whole number from 1 to 100, got "0"`},
		{"WORLD_BACKUPS_KEEP", "101", `from 1 to 100, got "101"`},
		{"WORLD_BACKUPS_KEEP", "five", `got "five"`},
		{"WORLD_SLEEP_MAX", "30m", "30m is below the minimum of 1h"},
		{"WORLD_SLEEP_MAX", "8761h", "8761h is above the maximum of 8760h"},
		{"WORLD_SLEEP_MAX", "168", "must be a duration with a unit"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), map[string]string{tc.name: tc.value}))
			equal(t, errs.Vars(), []string{tc.name})
			if !strings.Contains(errs.Error(), tc.want) {
				t.Errorf("error %q does not say %q", errs.Error(), tc.want)
			}
		})
	}
}
