package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestLoadAlerts: the alerts' topic and webhook, and the SNS endpoint.
func TestLoadAlerts(t *testing.T) {
	const hook = "https://discord.com/api/webhooks/123456789012345678/hook-token-abcdefghij"
	c := mustLoad(t, with(dockerEnv(), map[string]string{
		"ALERT_SNS_TOPIC_ARN":  "arn:aws:sns:eu-west-1:123456789012:spawner-alerts",
		"ALERT_WEBHOOK_URL":    hook,
		"AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:4100",
	}))
	equal(t, c.AlertTopicARN, "arn:aws:sns:eu-west-1:123456789012:spawner-alerts")
	equal(t, c.AlertTopicRegion(), "eu-west-1")
	equal(t, c.AlertWebhookURL.Value(), hook)
	equal(t, c.SNSEndpoint, "http://127.0.0.1:4100")
	// The topic's region is its own: no AWS_REGION is needed for it.
	equal(t, c.AWSRegion, "")

	c = mustLoad(t, with(dockerEnv(), map[string]string{"ALERT_SNS_TOPIC_ARN": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts.fifo"}))
	equal(t, c.AlertTopicRegion(), "us-gov-west-1")
	equal(t, mustLoad(t, dockerEnv()).AlertTopicRegion(), "")

	path := writeFile(t, t.TempDir(), "hook", hook+"\n")
	c = mustLoad(t, with(dockerEnv(), map[string]string{"ALERT_WEBHOOK_URL_FILE": path}))
	equal(t, c.AlertWebhookURL.Value(), hook)
	if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, "hook-token") {
		t.Errorf("the webhook's URL is printed with the configuration: %s", s)
	}
}

// TestLoadAlertsMalformed: each problem names its variable; the webhook's
// URL, a secret, is never shown.
func TestLoadAlertsMalformed(t *testing.T) {
	const token = "hook-token-abcdefghij"
	for _, tc := range []struct {
		name, value, want string
	}{
		{"ALERT_SNS_TOPIC_ARN", "spawner-alerts", `must be the ARN of an SNS topic, like arn:aws:sns:eu-west-3:123456789012:spawner-alerts (SNS console → Topics), got "spawner-alerts"`},
		{"ALERT_SNS_TOPIC_ARN", "arn:aws:sqs:eu-west-3:123456789012:spawner-events", "must be the ARN of an SNS topic"},
		{"ALERT_WEBHOOK_URL", "http://hooks.example.org/" + token, `its scheme is "http"`},
		{"ALERT_WEBHOOK_URL", "hooks.example.org/" + token, "must be an https URL like"},
		{"ALERT_WEBHOOK_URL", "https:///" + token, "must be an https URL like"},
		{"ALERT_WEBHOOK_URL", "https://hooks.example.org/" + token + "#x", "without a fragment"},
		{"AWS_ENDPOINT_URL_SNS", "localhost:4100", "must be an http or https URL"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			errs := loadErrors(t, with(dockerEnv(), map[string]string{tc.name: tc.value}))
			equal(t, errs.Vars(), []string{tc.name})
			if !strings.Contains(errs.Error(), tc.want) {
				t.Errorf("error %q does not say %q", errs.Error(), tc.want)
			}
			if strings.Contains(errs.Error(), token) {
				t.Errorf("the error shows the webhook's URL: %s", errs)
			}
		})
	}
	errs := loadErrors(t, with(dockerEnv(), map[string]string{"ALERT_WEBHOOK_URL": "https://a.example.org/x", "ALERT_WEBHOOK_URL_FILE": "/run/secrets/hook"}))
	equal(t, errs.Vars(), []string{"ALERT_WEBHOOK_URL"})
}

// TestLoadAlertWebhookMisplaced: the webhook's URL pasted into another
// variable is refused without being shown, as any secret.
func TestLoadAlertWebhookMisplaced(t *testing.T) {
	const hook = "https://hooks.slack.com/services/T000/B000/hook-token-abcdefghij"
	errs := loadErrors(t, with(dockerEnv(), map[string]string{"ALERT_WEBHOOK_URL": hook, "GAMESERVER_VERSION": hook}))
	equal(t, errs.Vars(), []string{"GAMESERVER_VERSION"})
	if !strings.Contains(errs.Error(), "holds the value of ALERT_WEBHOOK_URL") || strings.Contains(errs.Error(), "hook-token") {
		t.Errorf("error = %q", errs)
	}
}
