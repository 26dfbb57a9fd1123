package deploy

// deploy/terraform's worlds (worlds.tf, games.tf) and alerts topic
// (alerts.tf). Terraform does not run here: each check reads the files and
// lists what is wrong, and each test also breaks the files one way at a time
// and expects the check to say so, so that a check that reads nothing
// cannot pass.

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
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
	return append(out, strings.FieldsFunc(strings.Trim(v, "[] "), func(r rune) bool { return r == ',' || r == '\n' || r == ' ' })...)
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

// checkWorldsBucket: the worlds bucket exists when var.worlds asks for it,
// is never public, is encrypted, keeps what is deleted for a while, aborts
// the uploads cut short, refuses plain HTTP, and reaches the bot's .env.
func checkWorldsBucket(tf string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	resource := func(kind string) string {
		body := blockOf(tf, `resource "`+kind+`" "worlds"`)
		if body == "" {
			bad("no resource %s.worlds", kind)
			return ""
		}
		if attr(body, "count") != "var.worlds ? 1 : 0" {
			bad("%s.worlds: count = %q, want var.worlds ? 1 : 0", kind, attr(body, "count"))
		}
		if kind != "aws_s3_bucket" && attr(body, "bucket") != "aws_s3_bucket.worlds[0].id" {
			bad("%s.worlds applies to %q, not the worlds bucket", kind, attr(body, "bucket"))
		}
		return body
	}

	if b := resource("aws_s3_bucket"); attr(b, "force_destroy") == "true" {
		bad("the worlds bucket has force_destroy = true: terraform destroy would delete every world")
	}
	public := resource("aws_s3_bucket_public_access_block")
	for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		if attr(public, a) != "true" {
			bad("the worlds bucket's public access block has %s = %q, want true: it is private", a, attr(public, a))
		}
	}
	if v := attr(resource("aws_s3_bucket_ownership_controls"), "object_ownership"); v != `"BucketOwnerEnforced"` {
		bad("the worlds bucket's object_ownership is %s, want \"BucketOwnerEnforced\" (no ACLs)", v)
	}
	if v := attr(resource("aws_s3_bucket_server_side_encryption_configuration"), "sse_algorithm"); v != `"AES256"` && v != `"aws:kms"` {
		bad("the worlds bucket is not encrypted at rest: sse_algorithm = %q", v)
	}
	if v := attr(resource("aws_s3_bucket_versioning"), "status"); v != `"Enabled"` {
		bad("the worlds bucket's versioning is %s, want \"Enabled\": a deleted or overwritten backup must be recoverable for a while", v)
	}

	life := resource("aws_s3_bucket_lifecycle_configuration")
	if attr(life, "status") != `"Enabled"` {
		bad("the worlds bucket's lifecycle rule is not enabled")
	}
	if !regexp.MustCompile(`(?m)^\s*filter \{\}$`).MatchString(life) {
		bad("the worlds bucket's lifecycle rule does not apply to the whole bucket (filter {})")
	}
	if !regexp.MustCompile(`abort_incomplete_multipart_upload \{\s*days_after_initiation\s*=\s*1\s*\}`).MatchString(life) {
		bad("the worlds bucket does not abort incomplete multipart uploads after 1 day: their parts are billed forever")
	}
	if !regexp.MustCompile(`noncurrent_version_expiration \{\s*noncurrent_days\s*=\s*var\.world_recovery_days\s*\}`).MatchString(life) {
		bad("the worlds bucket keeps noncurrent versions forever: want noncurrent_version_expiration after var.world_recovery_days")
	}

	policy := blockOf(tf, `data "aws_iam_policy_document" "worlds_bucket"`)
	stmts, _ := statementsOf(policy)
	tls, ok := stmts["TLSOnly"]
	switch {
	case !ok:
		bad(`the worlds bucket's policy has no "TLSOnly" statement`)
	default:
		for _, want := range []string{`effect  = "Deny"`, `actions = ["s3:*"]`, `aws_s3_bucket.worlds[0].arn,`, `"${aws_s3_bucket.worlds[0].arn}/*",`, `type        = "*"`, `identifiers = ["*"]`} {
			if !strings.Contains(tls, want) {
				bad("the worlds bucket's TLSOnly statement lacks %s: plain HTTP would be let through", want)
			}
		}
		if !regexp.MustCompile(`test\s*=\s*"Bool"\s*variable\s*=\s*"aws:SecureTransport"\s*values\s*=\s*\["false"\]`).MatchString(tls) {
			bad("the worlds bucket's TLSOnly statement does not deny aws:SecureTransport false")
		}
	}
	if attr(blockOf(tf, `resource "aws_s3_bucket_policy" "worlds"`), "policy") != "data.aws_iam_policy_document.worlds_bucket[0].json" {
		bad("the worlds bucket's policy is not the TLSOnly document")
	}

	envFile := blockOf(tf, `output "env_file"`)
	if !strings.Contains(envFile, `var.worlds ? "WORLD_S3_BUCKET=${aws_s3_bucket.worlds[0].bucket}\n" : "",`) {
		bad("env_file does not give WORLD_S3_BUCKET when the bucket is made (and only then)")
	}
	if attr(blockOf(tf, `output "worlds_bucket"`), "value") != "one(aws_s3_bucket.worlds[*].bucket)" {
		bad("no output worlds_bucket")
	}
	if !regexp.MustCompile(`(?s)variable "worlds" \{.*?default\s*=\s*false`).MatchString(tf) {
		bad("variable worlds is not false by default: the bucket is made only when asked for")
	}
	return problems
}

// TestTerraformWorldsBucketIsPrivateEncryptedAndTidy: the worlds' backups
// are never public, encrypted at rest, reachable over TLS only; an upload
// cut short is aborted after a day, and what is deleted or overwritten is
// kept world_recovery_days, then dropped.
func TestTerraformWorldsBucketIsPrivateEncryptedAndTidy(t *testing.T) {
	runBreakCases(t, checkWorldsBucket, []breakCase{
		{"public policy allowed", "worlds.tf", "block_public_policy     = true", "block_public_policy     = false", "block_public_policy"},
		{"no public access block", "worlds.tf", `resource "aws_s3_bucket_public_access_block" "worlds"`, `resource "aws_s3_bucket_public_access_block" "old"`, "no resource aws_s3_bucket_public_access_block.worlds"},
		{"ACLs on", "worlds.tf", `"BucketOwnerEnforced"`, `"ObjectWriter"`, "object_ownership"},
		{"unencrypted", "worlds.tf", `sse_algorithm = "AES256"`, `sse_algorithm = ""`, "not encrypted"},
		{"encryption of another bucket", "worlds.tf", "resource \"aws_s3_bucket_server_side_encryption_configuration\" \"worlds\" {\n  count = var.worlds ? 1 : 0\n\n  bucket = aws_s3_bucket.worlds[0].id", "resource \"aws_s3_bucket_server_side_encryption_configuration\" \"worlds\" {\n  count = var.worlds ? 1 : 0\n\n  bucket = aws_s3_bucket.other.id", "not the worlds bucket"},
		{"uploads kept a month", "worlds.tf", "days_after_initiation = 1", "days_after_initiation = 30", "abort incomplete multipart"},
		{"versions kept forever", "worlds.tf", "noncurrent_days = var.world_recovery_days", "noncurrent_days = 36500", "noncurrent versions forever"},
		{"lifecycle on one prefix", "worlds.tf", "filter {}", "filter {\n      prefix = \"tmp/\"\n    }", "whole bucket"},
		{"versioning suspended", "worlds.tf", `status = "Enabled"`, `status = "Suspended"`, "versioning"},
		{"plain HTTP", "worlds.tf", `values   = ["false"]`, `values   = ["true"]`, "aws:SecureTransport"},
		{"TLS allowed, not required", "worlds.tf", `effect  = "Deny"`, `effect  = "Allow"`, "TLSOnly statement lacks"},
		{"TLS for the bucket only", "worlds.tf", `"${aws_s3_bucket.worlds[0].arn}/*",`, ``, "TLSOnly statement lacks"},
		{"destroyed with its worlds", "worlds.tf", `bucket = "${lower(var.name)}-worlds-${local.account_id}"`, "bucket        = \"${lower(var.name)}-worlds-${local.account_id}\"\n  force_destroy = true", "force_destroy"},
		{"always made", "worlds.tf", "resource \"aws_s3_bucket\" \"worlds\" {\n  count = var.worlds ? 1 : 0", "resource \"aws_s3_bucket\" \"worlds\" {\n  count = 1", "count"},
		{"not in env_file", "outputs.tf", `var.worlds ? "WORLD_S3_BUCKET=`, `var.worlds ? "S3_BUCKET=`, "WORLD_S3_BUCKET"},
	})
}

// checkWorldPolicies: the bot and the games with a world reach the worlds
// bucket under worlds/ only; the games' role deletes nothing.
func checkWorldPolicies(tf string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if v := attr(tf, "worlds_prefix"); v != `"worlds/"` {
		bad("local.worlds_prefix = %s, want \"worlds/\" (objects worlds/<world id>/<backup id>.tar.gz)", v)
	}
	if v := attr(tf, "world_objects"); v != `var.worlds ? "${aws_s3_bucket.worlds[0].arn}/${local.worlds_prefix}*" : null` {
		bad("local.world_objects = %s, want the worlds bucket's objects under local.worlds_prefix only", v)
	}

	check := func(who, doc string, want map[string][]string) {
		stmts, ok := statementsOf(doc)
		if !ok {
			bad("%s: a statement has no sid", who)
		}
		var all []string
		for sid, stmt := range stmts {
			actions := actionsOf(stmt, "s3")
			all = append(all, actions...)
			if len(actions) == 0 {
				continue
			}
			if w, known := want[sid]; !known || !slices.Equal(actions, w) {
				bad("%s: statement %s allows %v, want %v", who, sid, actions, want[sid])
			}
			res := resourcesOf(stmt)
			if slices.Contains(actions, "s3:ListBucket") {
				if !slices.Equal(res, []string{"aws_s3_bucket.worlds[0].arn"}) {
					bad("%s: %s lists %v, want the worlds bucket only", who, sid, res)
				}
				if !regexp.MustCompile(`test\s*=\s*"StringLike"\s*variable\s*=\s*"s3:prefix"\s*values\s*=\s*\["\$\{local\.worlds_prefix\}\*"\]`).MatchString(stmt) {
					bad("%s: %s lists the bucket without the s3:prefix condition worlds/*", who, sid)
				}
				continue
			}
			if slices.Contains(actions, "s3:ListBucketMultipartUploads") {
				if !slices.Equal(res, []string{"aws_s3_bucket.worlds[0].arn"}) {
					bad("%s: %s lists uploads of %v, want the worlds bucket only", who, sid, res)
				}
				continue
			}
			if !slices.Equal(res, []string{"local.world_objects"}) {
				bad("%s: %s reaches %v, want local.world_objects (worlds/* of the worlds bucket) only", who, sid, res)
			}
		}
		for sid := range want {
			if _, ok := stmts[sid]; !ok {
				bad("%s: no statement %s", who, sid)
			}
		}
		for _, a := range all {
			if strings.Contains(a, "*") {
				bad("%s: wildcard action %s", who, a)
			}
		}
	}
	check("the bot's policy", blockOf(tf, `data "aws_iam_policy_document" "bot"`), map[string][]string{
		"ListWorlds":        {"s3:ListBucket"},
		"SweepWorldUploads": {"s3:ListBucketMultipartUploads"},
		"KeepWorldBackups":  {"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
	})
	check("the world task role's policy", blockOf(tf, `data "aws_iam_policy_document" "world_task"`), map[string][]string{
		"ListWorlds":        {"s3:ListBucket"},
		"PullAndPushWorlds": {"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"},
	})

	role := blockOf(tf, `resource "aws_iam_role" "world_task"`)
	if attr(role, "assume_role_policy") != "data.aws_iam_policy_document.ecs_tasks_assume.json" {
		bad("the world task role is not assumed by this account's ECS tasks only")
	}
	if attr(blockOf(tf, `resource "aws_iam_role_policy" "world_task"`), "policy") != "data.aws_iam_policy_document.world_task[0].json" {
		bad("the world task role does not get its policy")
	}
	return problems
}

// TestTerraformWorldPoliciesStayUnderWorlds: the bot may list, read, write,
// delete and abort uploads of the worlds' backups; the games with a world
// may list, read, write and abort, not delete; both under worlds/ of the
// worlds bucket only.
func TestTerraformWorldPoliciesStayUnderWorlds(t *testing.T) {
	runBreakCases(t, checkWorldPolicies, []breakCase{
		{"bot on the whole bucket", "iam.tf", "resources = [local.world_objects]", `resources = ["${aws_s3_bucket.worlds[0].arn}/*"]`, "KeepWorldBackups reaches"},
		{"task on the whole bucket", "worlds.tf", "resources = [local.world_objects]", `resources = ["*"]`, "PullAndPushWorlds reaches"},
		{"prefix of everything", "worlds.tf", `worlds_prefix = "worlds/"`, `worlds_prefix = ""`, "worlds_prefix"},
		{"objects of the bucket", "worlds.tf", `"${aws_s3_bucket.worlds[0].arn}/${local.worlds_prefix}*"`, `"${aws_s3_bucket.worlds[0].arn}/*"`, "world_objects"},
		{"bot lists everything", "iam.tf", `values   = ["${local.worlds_prefix}*"]`, `values   = ["*"]`, "s3:prefix"},
		{"task lists everything", "worlds.tf", "    condition {\n      test     = \"StringLike\"\n      variable = \"s3:prefix\"\n      values   = [\"${local.worlds_prefix}*\"]\n    }\n", "", "s3:prefix"},
		{"task deletes", "worlds.tf", "      \"s3:PutObject\",\n", "      \"s3:PutObject\",\n      \"s3:DeleteObject\",\n", "PullAndPushWorlds allows"},
		{"bot cannot prune", "iam.tf", "        \"s3:DeleteObject\",\n", "", "KeepWorldBackups allows"},
		{"wildcard", "iam.tf", `"s3:GetObject",`, `"s3:Get*",`, "wildcard"},
		{"unknown statement", "worlds.tf", `sid = "PullAndPushWorlds"`, `sid = "Everything"`, "no statement PullAndPushWorlds"},
		{"statement without sid", "worlds.tf", `    sid = "PullAndPushWorlds"` + "\n", "", "has no sid"},
		{"any role may assume", "worlds.tf", "  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json\n}\n\ndata \"aws_iam_policy_document\" \"world_task\"", "  assume_role_policy = data.aws_iam_policy_document.anyone.json\n}\n\ndata \"aws_iam_policy_document\" \"world_task\"", "assumed"},
	})
}

// checkWorldTaskDefinitions: a game with a world runs the companion
// "world" beside it, on a volume they share; the game starts once the world
// is pulled (HEALTHY), and stops first so that the companion pushes what it
// saved, each within a stop timeout Fargate keeps.
func checkWorldTaskDefinitions(tf string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	num := func(body, name string) int {
		n, err := strconv.Atoi(attr(body, name))
		if err != nil {
			bad("the companion's %s is %q, not a number", name, attr(body, name))
		}
		return n
	}

	m := regexp.MustCompile(`(?s)\n  world_containers = \{\n(.*?)\n  \}\n`).FindStringSubmatch(tf)
	if m == nil {
		return []string{"games.tf: no local world_containers"}
	}
	world := m[1]
	for name, want := range map[string]string{
		"name":                  `"world"`,
		"image":                 "var.spawner_image",
		"command":               `["world", "sidecar"]`,
		"essential":             "true",
		"awslogs-group":         "aws_cloudwatch_log_group.games[game].name",
		"awslogs-stream-prefix": `"world"`,
	} {
		if got := attr(world, name); got != want {
			bad("the companion's %s = %s, want %s", name, got, want)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(world), "} if g.world != null") {
		bad("world_containers is not made for the games with a world only")
	}
	if attr(tf, "world_mount") != `"/world"` {
		bad("local.world_mount = %s, want \"/world\" (WORLD_PATH)", attr(tf, "world_mount"))
	}
	for _, want := range []string{
		`{ name = "WORLD_S3_BUCKET", value = local.world_bucket }`,
		`{ name = "WORLD_PATH", value = local.world_mount }`,
		`mountPoints = [{ sourceVolume = "world", containerPath = local.world_mount, readOnly = false }]`,
		`command     = ["CMD", "/spawner", "world", "ready"]`,
	} {
		if !strings.Contains(world, want) {
			bad("the companion lacks %s", want)
		}
	}
	interval, retries, startPeriod := num(world, "interval"), num(world, "retries"), num(world, "startPeriod")
	startTimeout, stopTimeout := num(world, "startTimeout"), num(world, "stopTimeout")
	if interval != 5 {
		bad("the companion's health check runs every %d s, want 5: the game waits for it", interval)
	}
	if startTimeout < 2 || startTimeout > 120 {
		bad("the companion's startTimeout is %d s: Fargate takes 2 to 120", startTimeout)
	}
	if startPeriod+retries*interval < startTimeout {
		bad("the companion is marked unhealthy after %d s (startPeriod %d + %d retries × %d s) while a pull may take %d s (startTimeout)", startPeriod+retries*interval, startPeriod, retries, interval, startTimeout)
	}
	if stopTimeout != 120 {
		bad("the companion's stopTimeout is %d s, want 120, Fargate's longest: the push happens in it", stopTimeout)
	}

	td := blockOf(tf, `resource "aws_ecs_task_definition" "games"`)
	for _, want := range []string{
		`mountPoints = each.value.world == null ? null : [{ sourceVolume = "world", containerPath = each.value.world.path, readOnly = false }]`,
		`dependsOn   = each.value.world == null ? null : [{ containerName = "world", condition = "HEALTHY" }]`,
		`stopTimeout = each.value.world == null ? null : each.value.world.stop_timeout`,
		`], [for game, c in local.world_containers : c if game == each.key]))`,
		`task_role_arn            = each.value.world == null ? aws_iam_role.task.arn : one(aws_iam_role.world_task[*].arn)`,
		`condition     = each.value.world == null || var.worlds`,
	} {
		if !strings.Contains(td, want) {
			bad("the games' task definition lacks %s", want)
		}
	}
	if !regexp.MustCompile(`dynamic "volume" \{\s*for_each = each\.value\.world == null \? \[\] : \[each\.value\.world\]\s*content \{\s*name = "world"\s*\}`).MatchString(td) {
		bad(`a game with a world has no task volume "world"`)
	}

	games := blockOf(tf, `variable "games"`)
	if !regexp.MustCompile(`world = optional\(object\(\{\s*path\s*=\s*string\s*stop_timeout = optional\(number, 120\)\s*\}\)\)`).MatchString(games) {
		bad("var.games has no optional world = { path, stop_timeout = 120 }")
	}
	if !strings.Contains(games, "g.world.stop_timeout >= 2 && g.world.stop_timeout <= 120") {
		bad("var.games does not bound world.stop_timeout to Fargate's 2 to 120 s")
	}
	if !regexp.MustCompile(`(?s)variable "spawner_image" \{.*?default\s*=\s*"ghcr\.io/mineral-contest/spawner:`).MatchString(tf) {
		bad("no variable spawner_image with the bot's image by default")
	}
	return problems
}

// TestTerraformWorldGamesRunTheCompanion: a game with a world gets the
// companion "world" (the bot's image, `spawner world sidecar`) on a shared
// volume; the game starts once the companion is healthy (the world pulled)
// and stops before it, so the companion pushes the world after the game
// saved it, within Fargate's 120 s.
func TestTerraformWorldGamesRunTheCompanion(t *testing.T) {
	runBreakCases(t, checkWorldTaskDefinitions, []breakCase{
		{"game starts with the companion", "games.tf", `condition = "HEALTHY"`, `condition = "START"`, "HEALTHY"},
		{"game on its own disk", "games.tf", "containerPath = each.value.world.path", `containerPath = "/tmp"`, "mountPoints"},
		{"no volume", "games.tf", "      name = \"world\"\n    }\n  }", "      name = \"scratch\"\n    }\n  }", "no task volume"},
		{"push cut at 30 s", "games.tf", "      stopTimeout = 120\n", "      stopTimeout = 30\n", "stopTimeout is 30"},
		{"game's stop timeout ignored", "games.tf", "stopTimeout = each.value.world == null ? null : each.value.world.stop_timeout", "stopTimeout = null", "stopTimeout"},
		{"start timeout beyond Fargate", "games.tf", "      startTimeout = 120\n", "      startTimeout = 600\n", "2 to 120"},
		{"unhealthy during a pull", "games.tf", "startPeriod = 120", "startPeriod = 0", "marked unhealthy"},
		{"ready never asked", "games.tf", `["CMD", "/spawner", "world", "ready"]`, `["CMD", "/spawner", "healthcheck"]`, "world\", \"ready\""},
		{"companion optional", "games.tf", "      essential = true\n      # Root", "      essential = false\n      # Root", "essential"},
		{"another command", "games.tf", `command   = ["world", "sidecar"]`, `command   = ["world", "pull"]`, "command"},
		{"another image", "games.tf", "image     = var.spawner_image", `image     = "busybox"`, "image"},
		{"logs elsewhere", "games.tf", `awslogs-stream-prefix = "world"`, `awslogs-stream-prefix = game`, "awslogs-stream-prefix"},
		{"no bucket given", "games.tf", `{ name = "WORLD_S3_BUCKET", value = local.world_bucket },`, ``, "WORLD_S3_BUCKET"},
		{"companion for every game", "games.tf", "    } if g.world != null\n", "    }\n", "games with a world only"},
		{"companion left out", "games.tf", "], [for game, c in local.world_containers : c if game == each.key]))", "], []))", "local.world_containers"},
		{"game role for worlds", "games.tf", "each.value.world == null ? aws_iam_role.task.arn : one(aws_iam_role.world_task[*].arn)", "aws_iam_role.task.arn", "task_role_arn"},
		{"world without a bucket", "games.tf", "condition     = each.value.world == null || var.worlds", "condition     = true", "var.worlds"},
		{"stop timeout unbounded", "variables.tf", "g.world.stop_timeout >= 2 && g.world.stop_timeout <= 120", "g.world.stop_timeout >= 2", "bound"},
	})

	// The example turns worlds on for the games it gives a world.
	tfvars := readRepoFile(t, "deploy/terraform/games.tfvars.example")
	if !regexp.MustCompile(`(?m)^worlds\s*=\s*true$`).MatchString(tfvars) || !strings.Contains(tfvars, `world = { path = "/data" }`) {
		t.Errorf("games.tfvars.example has no game with a world (world = { path = \"/data\" }) and worlds = true: the infrastructure check would not see them")
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
