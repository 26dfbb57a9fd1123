package config

import (
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// Bounds of the worlds' variables.
const (
	DefaultWorldBackupsKeep = 5
	MaxWorldBackupsKeep     = 100
	DefaultWorldSleepMax    = 168 * time.Hour
)

// WorldSleepMaxRange bounds WORLD_SLEEP_MAX: an hour, to a year.
var WorldSleepMaxRange = spawner.Range[time.Duration]{Min: time.Hour, Max: 8760 * time.Hour}

// loadWorlds reads where the worlds' backups go, how many are kept, and
// how long an asleep world keeps its port.
func (l *loader) loadWorlds(c *Config) {
	c.WorldBucket = l.bucket("WORLD_S3_BUCKET")
	c.S3Endpoint = l.endpoint("AWS_ENDPOINT_URL_S3")
	c.WorldBackupsKeep = l.integer("WORLD_BACKUPS_KEEP", DefaultWorldBackupsKeep, 1, MaxWorldBackupsKeep)
	c.WorldSleepMax, _ = l.duration("WORLD_SLEEP_MAX", DefaultWorldSleepMax, withUnit, WorldSleepMaxRange)
}

// bucket reads an S3 bucket's name, as S3 names them: 3 to 63 lowercase
// letters, digits, dots and hyphens, starting and ending with a letter or
// a digit, no two dots in a row. An s3:// URL or an ARN is told what to
// write instead.
func (l *loader) bucket(name string) string {
	v := l.get(name)
	if v == "" {
		return ""
	}
	const expected = "must be an S3 bucket's name (3 to 63 lowercase letters, digits, dots and hyphens), like spawner-worlds-123456789012"
	for _, prefix := range []string{"s3://", "arn:aws:s3:::"} {
		if rest, ok := strings.CutPrefix(v, prefix); ok {
			rest, _, _ = strings.Cut(rest, "/")
			l.failf(name, "%s; use %s instead of %s", expected, quote(rest), quote(v))
			return ""
		}
	}
	if !isBucketName(v) {
		l.failf(name, "%s, got %s", expected, quote(v))
		return ""
	}
	return v
}

func isBucketName(v string) bool {
	if len(v) < 3 || len(v) > 63 || strings.Contains(v, "..") {
		return false
	}
	for i := 0; i < len(v); i++ {
		b := v[i]
		alnum := 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
		if !alnum && ((b != '.' && b != '-') || i == 0 || i == len(v)-1) {
			return false
		}
	}
	return true
}
