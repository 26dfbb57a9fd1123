package spawner

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// An Alert tells the admins, outside the chat, of something they should
// know without watching the log channel: a creation or a server that
// failed, a task the bot could not stop, a world backup that failed, the
// bot's own start failing, a game image built. Its facts come from the
// domain only (ids, the game, what the log channel says): never a token, a
// password or a secret of the configuration.
type Alert struct {
	Kind     AlertKind
	Severity Severity
	// Title is one short line ("Creation failed"), in the admins' language;
	// the one who raises the alert sets it (internal/text).
	Title string
	// Text says what happened, as the log channel says it.
	Text string
	// Server is the creation id of the server concerned; empty when the
	// alert is about no server.
	Server string
	Game   string
	// Member is the id of the member concerned: the server's or the
	// world's owner.
	Member string
	Time   time.Time
	// Key names the failure: alerts of the same Kind and Key are the same
	// failure repeating (a game whose task cannot start, creation after
	// creation), told once and then counted. It never holds a server's id.
	Key string
	// Fields are other facts, by name ("task", "cause", "world"), for
	// whoever reads the alert as data.
	Fields map[string]string
}

// AlertKind is what an alert is about; it is the "kind" of the alert's
// JSON body (docs/alerts.md).
type AlertKind string

// The kinds of alert, each with what it is sent for.
const (
	AlertCreationFailed AlertKind = "creation-failed" // a creation ended without a ready server
	AlertServerFailed   AlertKind = "server-failed"   // a ready server whose task stopped on its own, or was found gone
	AlertStopFailed     AlertKind = "stop-failed"     // a server whose task or record could not be removed; retried by each sweep
	AlertBackupFailed   AlertKind = "backup-failed"   // a world's backup failed
	AlertStartFailed    AlertKind = "start-failed"    // the bot could not start, after it read its configuration
	AlertImageBuild     AlertKind = "image-build"     // a game image was built, or failed to: sent by the build itself, not the bot
)

// Severity is how urgent an alert is.
type Severity string

// The severities, the most urgent first.
const (
	SeverityError   Severity = "error"   // something failed that admins should look at
	SeverityWarning Severity = "warning" // something ended that may be expected (capacity reclaimed, a game that exited cleanly)
	SeverityInfo    Severity = "info"    // good news (an image built)
)

// CreationFailedAlert is the alert of the creation of srv that ended with
// cause at time at. detail says why, as the log channel does; reason says
// it in words that change neither with the language nor with the server
// (the English detail), so that the same failure hitting creation after
// creation is one alert.
func CreationFailedAlert(srv Server, cause StopCause, detail, reason string, at time.Time) Alert {
	return serverAlert(AlertCreationFailed, SeverityError, srv, cause, detail, reason, at)
}

// ServerFailedAlert is the alert of server srv, once ready, ending with
// cause (its task stopped on its own, or was found gone at start); see
// CreationFailedAlert for detail and reason. A task whose capacity was
// reclaimed (Task.Reclaimed), or whose game exited with code 0, is a
// warning; any other end an error.
func ServerFailedAlert(srv Server, cause StopCause, task *Task, detail, reason string, at time.Time) Alert {
	severity := SeverityError
	if task != nil && (task.Reclaimed || (task.ExitCode != nil && *task.ExitCode == 0)) {
		severity = SeverityWarning
	}
	a := serverAlert(AlertServerFailed, severity, srv, cause, detail, reason, at)
	if task != nil && task.ExitCode != nil {
		a.Fields["exitCode"] = strconv.Itoa(int(*task.ExitCode))
	}
	return a
}

// StopFailedAlert is the alert of server srv whose end could not be
// completed (its task not stopped, or its record not removed): each sweep
// tries again, and the task may run, and cost, meanwhile.
func StopFailedAlert(srv Server, detail, reason string, at time.Time) Alert {
	return serverAlert(AlertStopFailed, SeverityError, srv, "", detail, reason, at)
}

// BackupFailedAlert is the alert of a backup of world, of game and owned
// by owner, that failed at time at; server is the creation id of the
// server whose end took the backup, empty for a backup asked for by a
// command. detail and reason are as in CreationFailedAlert.
func BackupFailedAlert(world, game, owner, server, detail, reason string, at time.Time) Alert {
	return Alert{
		Kind:     AlertBackupFailed,
		Severity: SeverityError,
		Text:     detail,
		Server:   server,
		Game:     game,
		Member:   owner,
		Time:     at,
		Key:      game + "/" + FailureKey(reason),
		Fields:   map[string]string{"world": world},
	}
}

// StartFailedAlert is the alert of the bot's start failing at time at;
// detail is the error that ended it, which says what to check. It is
// raised once, before the process exits.
func StartFailedAlert(detail string, at time.Time) Alert {
	return Alert{
		Kind:     AlertStartFailed,
		Severity: SeverityError,
		Text:     detail,
		Time:     at,
		Key:      FailureKey(detail),
	}
}

func serverAlert(kind AlertKind, severity Severity, srv Server, cause StopCause, detail, reason string, at time.Time) Alert {
	a := Alert{
		Kind:     kind,
		Severity: severity,
		Text:     detail,
		Server:   srv.CreationID,
		Game:     srv.Game,
		Member:   srv.Owner,
		Time:     at,
		Key:      srv.Game + "/" + string(cause) + "/" + FailureKey(reason),
		Fields:   map[string]string{},
	}
	if task := srv.ShortTaskID(); task != "" {
		a.Fields["task"] = task
	}
	if cause != "" {
		a.Fields["cause"] = string(cause)
	}
	if srv.Variant != "" {
		a.Fields["variant"] = srv.Variant
	}
	return a
}

// idLike is a run of hexadecimal digits and dashes long enough to be an
// id (a task's, a request's, a UUID) or a date.
var idLike = regexp.MustCompile(`[0-9A-Fa-f-]{8,}`)

// FailureKey is reason with what differs between two occurrences of one
// failure taken out: ids, request ids and dates (runs of 8 or more
// hexadecimal digits and dashes holding a digit) become "#".
func FailureKey(reason string) string {
	return idLike.ReplaceAllStringFunc(strings.TrimSpace(reason), func(s string) string {
		if strings.ContainsAny(s, "0123456789") {
			return "#"
		}
		return s
	})
}
