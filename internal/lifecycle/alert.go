package lifecycle

import (
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// Alerts tells the admins outside the chat (SNS, a webhook) of a failure
// the log channel is told of. Alert must return at once, whatever becomes
// of the alert: the lifecycle calls it in the middle of its work.
type Alerts interface {
	Alert(a spawner.Alert)
}

// alert hands a to the Alerts, when there are, titled in the log
// channel's language.
func (m *Manager) alert(a spawner.Alert) {
	if m.cfg.Alerts == nil {
		return
	}
	a.Title = m.logLang().AlertTitle(a.Kind)
	m.cfg.Alerts.Alert(a)
}

// alertEnd raises the alert of a server that ended, when its end is a
// failure: a creation that did not reach ready, or a ready server whose
// task stopped on its own or was found gone.
func (m *Manager) alertEnd(srv spawner.Server, end ending, logDetail string) {
	reason := ""
	if end.detail != nil {
		reason = end.detail(text.En)
	}
	now := m.clock.Now()
	switch end.cause {
	case spawner.CauseFailed, spawner.CauseNotReady:
		m.alert(spawner.CreationFailedAlert(srv, end.cause, logDetail, reason, now))
	case spawner.CauseTaskEnded, spawner.CauseRecordGone:
		m.alert(spawner.ServerFailedAlert(srv, end.cause, end.task, logDetail, reason, now))
	case spawner.CauseCommand, spawner.CauseRuntime, spawner.CausePlayers, spawner.CauseOrphan, spawner.CauseRestart:
		// Ended by a member, an admin or a rule, or an orphan the sweep
		// stopped, or a creation a restart interrupted: no failure, no alert.
	}
}
