package deploy

// deploy/terraform's alerts topic (alerts.tf). Terraform does not run here: each check reads the files and
// lists what is wrong, and each test also breaks the files one way at a time
// and expects the check to say so, so that a check that reads nothing
// cannot pass.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// attr returns the value of the first `name = value` of body, trimmed; ""
// when there is none.
func attr(body, name string) string {
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(name) + `\s*=\s*(.*?)\s*$`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// blockOf is block without failing: the body of the block whose header is
// head, "" when there is none.
func blockOf(tf, head string) string {
	m := regexp.MustCompile(`(?s)` + regexp.QuoteMeta(head) + ` \{(.*?)\n\}`).FindStringSubmatch(tf)
	if m == nil {
		return ""
	}
	return m[1]
}

// statementsOf cuts a policy document's body into its statements, by sid:
// each runs from its sid (the first attribute of every statement here) to
// the next. ok is false when a statement has no sid, as its actions would
// then be counted as the previous one's.
func statementsOf(doc string) (stmts map[string]string, ok bool) {
	sids := regexp.MustCompile(`(?m)^\s*sid\s*=\s*"([^"]+)"`).FindAllStringSubmatchIndex(doc, -1)
	stmts = map[string]string{}
	for i, m := range sids {
		end := len(doc)
		if i+1 < len(sids) {
			end = sids[i+1][0]
		}
		stmts[doc[m[2]:m[3]]] = doc[m[1]:end]
	}
	blocks := len(regexp.MustCompile(`(?m)^\s*(statement|content) \{`).FindAllString(doc, -1))
	return stmts, blocks == len(sids)
}

// actionsOf lists the actions of service ("s3", "sns") in the actions
// lists of body.
func actionsOf(body, service string) []string {
	var out []string
	for _, list := range regexp.MustCompile(`(?s)actions\s*=\s*\[(.*?)\]`).FindAllStringSubmatch(body, -1) {
		for _, m := range regexp.MustCompile(`"(`+service+`:[A-Za-z*]+)"`).FindAllStringSubmatch(list[1], -1) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// resourcesOf is a statement's resources, its list's items or its single
// expression.
func resourcesOf(stmt string) []string {
	v := attr(stmt, "resources")
	if m := regexp.MustCompile(`(?s)resources\s*=\s*\[(.*?)\]\s*\n`).FindStringSubmatch(stmt); m != nil {
		v = m[1]
	}
	var out []string
	for _, r := range strings.FieldsFunc(strings.Trim(v, "[] "), func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		out = append(out, r)
	}
	return out
}

// breakCase is one broken variant of the Terraform: old replaced by new in
// the file named, and a problem saying want expected.
type breakCase struct{ name, file, old, new, want string }

// runBreakCases checks that check finds each broken variant of the
// Terraform, after checking that the real files pass.
func runBreakCases(t *testing.T, check func(tf string) []string, cases []breakCase) {
	t.Helper()
	if problems := check(readTerraform(t)); len(problems) > 0 {
		t.Errorf("deploy/terraform:\n%s", strings.Join(problems, "\n"))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := readRepoFile(t, "deploy/terraform/"+tc.file)
			if !strings.Contains(text, tc.old) {
				t.Fatalf("%s has no %q to break", tc.file, tc.old)
			}
			tf := strings.Replace(readTerraform(t), text, strings.Replace(text, tc.old, tc.new, 1), 1)
			problems := check(tf)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("replacing %q by %q in %s: problems %q, want one saying %q", tc.old, tc.new, tc.file, problems, tc.want)
			}
		})
	}
}

// checkAlertsTopic: the alerts topic is made when asked for, encrypted, and
// the bot may publish to it and read it, on it alone and nothing more.
func checkAlertsTopic(tf string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	topic := blockOf(tf, `resource "aws_sns_topic" "alerts"`)
	if topic == "" {
		return []string{`no resource "aws_sns_topic" "alerts"`}
	}
	if attr(topic, "count") != "var.alerts_topic ? 1 : 0" {
		bad("the alerts topic's count is %q, want var.alerts_topic ? 1 : 0", attr(topic, "count"))
	}
	if v := strings.Trim(attr(topic, "kms_master_key_id"), `"`); v == "" || v == "null" {
		bad("the alerts topic is not encrypted at rest (kms_master_key_id)")
	}
	if !regexp.MustCompile(`(?s)variable "alerts_topic" \{.*?default\s*=\s*false`).MatchString(tf) {
		bad("variable alerts_topic is not false by default")
	}

	stmts, _ := statementsOf(blockOf(tf, `data "aws_iam_policy_document" "bot"`))
	for sid, stmt := range stmts {
		actions := actionsOf(stmt, "sns")
		if len(actions) == 0 {
			continue
		}
		if sid != "PublishAlerts" {
			bad("the bot's statement %s allows %v: SNS is PublishAlerts' only", sid, actions)
			continue
		}
		if want := []string{"sns:GetTopicAttributes", "sns:Publish"}; !slices.Equal(actions, want) {
			bad("the bot may %v on the alerts topic, want %v (publish, and read it for spawner check)", actions, want)
		}
		if res := resourcesOf(stmt); !slices.Equal(res, []string{"aws_sns_topic.alerts[0].arn"}) {
			bad("the bot may publish to %v, want the alerts topic alone", res)
		}
	}
	if _, ok := stmts["PublishAlerts"]; !ok {
		bad("the bot's policy has no PublishAlerts statement")
	} else if !regexp.MustCompile(`for_each = var\.alerts_topic \? \[1\] : \[\]\s*content \{\s*sid\s*=\s*"PublishAlerts"`).MatchString(tf) {
		bad("PublishAlerts is in the bot's policy without the topic (for_each = var.alerts_topic ? [1] : [])")
	}

	envFile := blockOf(tf, `output "env_file"`)
	if !strings.Contains(envFile, `var.alerts_topic ? "ALERT_SNS_TOPIC_ARN=${aws_sns_topic.alerts[0].arn}\n" : "",`) {
		bad("env_file does not give ALERT_SNS_TOPIC_ARN when the topic is made (and only then)")
	}
	if attr(blockOf(tf, `output "alerts_topic_arn"`), "value") != "one(aws_sns_topic.alerts[*].arn)" {
		bad("no output alerts_topic_arn")
	}
	return problems
}

// TestTerraformAlertsTopicIsEncryptedAndTheBotsAlone: asked for, the alerts
// topic is encrypted, and the bot may publish to it and read it, nothing
// more and nowhere else; its ARN reaches the bot's .env.
func TestTerraformAlertsTopicIsEncryptedAndTheBotsAlone(t *testing.T) {
	runBreakCases(t, checkAlertsTopic, []breakCase{
		{"unencrypted", "alerts.tf", `kms_master_key_id = "alias/aws/sns"`, `kms_master_key_id = null`, "not encrypted"},
		{"always made", "alerts.tf", "count = var.alerts_topic ? 1 : 0", "count = 1", "count"},
		{"any topic", "iam.tf", "resources = [aws_sns_topic.alerts[0].arn]", `resources = ["*"]`, "alerts topic alone"},
		{"subscribe too", "iam.tf", "        \"sns:Publish\",\n", "        \"sns:Publish\",\n        \"sns:Subscribe\",\n", "want [sns:GetTopicAttributes sns:Publish]"},
		{"no check", "iam.tf", "        \"sns:GetTopicAttributes\",\n", "", "want [sns:GetTopicAttributes sns:Publish]"},
		{"SNS elsewhere", "iam.tf", `"sqs:GetQueueAttributes",`, `"sqs:GetQueueAttributes", "sns:Publish",`, "SNS is PublishAlerts' only"},
		{"not in env_file", "outputs.tf", `var.alerts_topic ? "ALERT_SNS_TOPIC_ARN=`, `var.alerts_topic ? "ALERT_SNS_TOPIC=`, "ALERT_SNS_TOPIC_ARN"},
		{"without the topic", "iam.tf", "for_each = var.alerts_topic ? [1] : []", "for_each = [1]", "without the topic"},
		{"on by default", "variables.tf", "Subscribe to it yourself (email, SMS, a queue).\"\n  type        = bool\n  default     = false", "Subscribe to it yourself (email, SMS, a queue).\"\n  type        = bool\n  default     = true", "not false by default"},
	})
}
