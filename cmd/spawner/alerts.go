package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/mineral-contest/spawner/internal/alert"
	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/metrics"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/text"
)

// alertHTTPClient POSTs the alerts to ALERT_WEBHOOK_URL; nil: Go's
// defaults. The tests set it once, before any daemon runs (TestMain), to a
// client that trusts their HTTPS receivers: the only difference from
// production besides addresses.
var alertHTTPClient *http.Client

// startAlertWait is how long a start that failed waits, at most, for its
// alert to go out before the process exits.
const startAlertWait = 5 * time.Second

// newAlerts builds the alerts' Notifier: SNS through the real client, in
// the topic's region, with AWS_ENDPOINT_URL_SNS (else AWS_ENDPOINT_URL)
// honoured; the webhook. It is nil when neither variable is set. Nothing
// is dialled or started. When the AWS configuration cannot be read, the
// Notifier returned has the webhook alone, with the error, so the start
// that fails on it can still be told.
func newAlerts(ctx context.Context, cfg *config.Config, log *slog.Logger, met *metrics.Metrics) (*alert.Notifier, error) {
	if cfg.AlertTopicARN == "" && cfg.AlertWebhookURL.IsZero() {
		return nil, nil
	}
	ac := alert.Config{
		WebhookURL: cfg.AlertWebhookURL.Value(),
		HTTPClient: alertHTTPClient,
		Deployment: cfg.Deployment,
		Secrets:    secretsOf(cfg),
		Log:        log.With("part", "alerts"),
	}
	if met != nil {
		ac.Count = met.Alert
	}
	var err error
	if cfg.AlertTopicARN != "" {
		var awsCfg aws.Config
		if awsCfg, err = loadAWS(ctx, cfg, met); err == nil {
			ac.TopicARN = cfg.AlertTopicARN
			ac.SNS = awssns.NewFromConfig(awsCfg, func(o *awssns.Options) {
				o.Region = cfg.AlertTopicRegion()
				o.BaseEndpoint = awsEndpoint(cfg, cfg.SNSEndpoint)
			})
		}
	}
	return alert.New(ac), err
}

// secretsOf are the configuration's secrets, which the alerts take out of
// anything they send: the tokens and keys, and the webhook's URL with the
// path that holds its token.
func secretsOf(cfg *config.Config) []string {
	secrets := []string{
		cfg.DiscordToken.Value(), cfg.WebSecret.Value(),
		cfg.AWSAccessKeyID.Value(), cfg.AWSSecretAccessKey.Value(), cfg.AWSSessionToken.Value(),
		cfg.AlertWebhookURL.Value(),
	}
	if u, err := url.Parse(cfg.AlertWebhookURL.Value()); err == nil && u.Path != "" {
		secrets = append(secrets, u.EscapedPath())
	}
	return secrets
}

// lifecycleAlerts is the Notifier as the lifecycle's Alerts: nil (none)
// without one.
func (m *Main) lifecycleAlerts() lifecycle.Alerts {
	if m.alerts == nil {
		return nil
	}
	return m.alerts
}

// alertStartFailed tells err, which ended the start, to the alerts, and
// waits for it to go out, at most startAlertWait: the process exits next.
func (m *Main) alertStartFailed(err error) {
	if m.alerts == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), startAlertWait)
	defer cancel()
	a := spawner.StartFailedAlert(err.Error(), time.Now())
	a.Title = text.En.AlertTitle(a.Kind) // the guild's language may not be known yet
	if err := m.alerts.Deliver(ctx, a); err != nil {
		m.log.Error("the start's failure could not be told to the alerts", "err", err)
	}
}

// webhookHost is ALERT_WEBHOOK_URL as check shows it: its host, never the
// path that holds its token.
func webhookHost(cfg *config.Config) string {
	u, err := url.Parse(cfg.AlertWebhookURL.Value())
	if err != nil {
		return "…"
	}
	return "https://" + u.Host + "/…"
}
