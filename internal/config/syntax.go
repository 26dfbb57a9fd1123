package config

import (
	"strings"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// The syntax of values, checked byte by byte rather than with regular
// expressions: patterns with counted repetitions ({1,255}, {0,61}) compile
// to programs of hundreds of instructions, which this package paid at
// every start of the bot (18,000 allocations) for a handful of checks.
// Every set below is ASCII, so a value made of them has as many bytes as
// characters, and any other byte (one of a multi-byte character too) is
// outside every set.

// isSnowflakeSyntax: 17 to 20 digits.
func isSnowflakeSyntax(v string) bool {
	return len(v) >= 17 && len(v) <= 20 && bytesIn(v, isDigit, "")
}

// isRegion: lowercase letters and digits in words joined by single
// hyphens, like eu-west-3.
func isRegion(v string) bool {
	for word := range strings.SplitSeq(v, "-") {
		if word == "" || !bytesIn(word, isLowerAlnum, "") {
			return false
		}
	}
	return true
}

// isClusterName: an ECS cluster name, or a cluster's ARN.
func isClusterName(v string) bool {
	if spawner.IsECSName(v) {
		return true
	}
	name, ok := ecsARN(v, "cluster")
	return ok && spawner.IsECSName(name)
}

// isTaskDefinitionARN: the ARN of a task definition, with or without its
// revision.
func isTaskDefinitionARN(v string) bool {
	_, ok := taskDefinitionARNFamily(v)
	return ok
}

// taskDefinitionARNFamily is the family of v when v is the ARN of a task
// definition, with or without its revision.
func taskDefinitionARNFamily(v string) (string, bool) {
	rest, ok := ecsARN(v, "task-definition")
	if !ok {
		return "", false
	}
	family, revision, hasRevision := strings.Cut(rest, ":")
	if !spawner.IsECSName(family) || (hasRevision && (revision == "" || !bytesIn(revision, isDigit, ""))) {
		return "", false
	}
	return family, true
}

// ecsARN is what follows resource+"/" in v when v is an ECS ARN of that
// resource.
func ecsARN(v, resource string) (string, bool) {
	rest, ok := arn(v, "ecs")
	if !ok {
		return "", false
	}
	return strings.CutPrefix(rest, resource+"/")
}

// isTopicARN: an SNS topic's ARN, its name 1 to 256 letters, digits,
// hyphens and underscores, maybe followed by .fifo.
func isTopicARN(v string) bool {
	rest, ok := arn(v, "sns")
	name := strings.TrimSuffix(rest, ".fifo")
	return ok && len(name) >= 1 && len(name) <= 256 && bytesIn(name, isAlnum, "_-")
}

// arn is the resource part of v when v is an ARN of service:
// arn:aws<partition>:<service>:<region>:<account>:<resource>, the
// partition's suffix lowercase letters and hyphens, the region lowercase
// letters, digits and hyphens, the account 12 digits.
func arn(v, service string) (string, bool) {
	rest, ok := strings.CutPrefix(v, "arn:aws")
	if !ok {
		return "", false
	}
	fields := strings.SplitN(rest, ":", 5) // partition suffix, service, region, account, resource
	if len(fields) != 5 || !bytesIn(fields[0], isLower, "-") || fields[1] != service ||
		fields[2] == "" || !bytesIn(fields[2], isLowerAlnum, "-") ||
		len(fields[3]) != 12 || !bytesIn(fields[3], isDigit, "") {
		return "", false
	}
	return fields[4], true
}

// awsID reports whether v is an id like prefix-0123abcd (lowercase hex).
func awsID(prefix string) func(string) bool {
	return func(v string) bool {
		hex, ok := strings.CutPrefix(v, prefix+"-")
		return ok && hex != "" && bytesIn(hex, isLowerHex, "")
	}
}

// isTableName: a DynamoDB table name, 3 to 255 letters, digits, _ . and -.
func isTableName(v string) bool {
	return len(v) >= 3 && len(v) <= 255 && bytesIn(v, isAlnum, "_.-")
}

// isPublicPath: what PUBLIC_URL's path may be, when the bot is served
// under a path of its host: segments of letters, digits and - . _ ~ that
// do not start with . (no "." or ".."), written as they are (no %), and
// maybe a final slash.
func isPublicPath(p string) bool {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return false
	}
	for seg := range strings.SplitSeq(rest, "/") {
		if seg == "" || seg[0] == '.' || !bytesIn(seg, isAlnum, "._~-") {
			return false
		}
	}
	return true
}

// isDeployment: what both an AWS tag value and a Docker label accept, 1 to
// 128 letters, digits and _ . : / = + @ -.
func isDeployment(v string) bool {
	return len(v) >= 1 && len(v) <= 128 && bytesIn(v, isAlnum, "_.:/=+@-")
}

// isHostName: labels of 1 to 63 letters, digits and hyphens joined by
// dots, each starting and ending with a letter or a digit.
func isHostName(v string) bool {
	for label := range strings.SplitSeq(v, ".") {
		if len(label) < 1 || len(label) > 63 || !isAlnum(label[0]) || !isAlnum(label[len(label)-1]) || !bytesIn(label, isAlnum, "-") {
			return false
		}
	}
	return true
}

// isImage: a loose Docker image reference, a lowercase name (registry,
// path and maybe a lowercase tag: letters, digits and . _ / : -) starting
// with a letter or a digit, then maybe a tag of any case (1 to 128
// letters, digits and _ . -, not starting with . or -), then maybe a
// digest @sha256: and 64 lowercase hex digits.
func isImage(v string) bool {
	if name, digest, ok := strings.Cut(v, "@"); ok {
		hex, ok := strings.CutPrefix(digest, "sha256:")
		if !ok || len(hex) != 64 || !bytesIn(hex, isLowerHex, "") {
			return false
		}
		v = name
	}
	isName := func(s string) bool { return s != "" && isLowerAlnum(s[0]) && bytesIn(s, isLowerAlnum, "._/:-") }
	if isName(v) {
		return true
	}
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return false
	}
	tag := v[i+1:]
	return isName(v[:i]) && len(tag) >= 1 && len(tag) <= 128 && (isAlnum(tag[0]) || tag[0] == '_') && bytesIn(tag, isAlnum, "_.-")
}

// bytesIn reports whether every byte of s is one ok accepts or one of
// extra.
func bytesIn(s string, ok func(byte) bool, extra string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !ok(c) && strings.IndexByte(extra, c) < 0 {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLower(c byte) bool      { return 'a' <= c && c <= 'z' }
func isLowerAlnum(c byte) bool { return isLower(c) || isDigit(c) }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || 'A' <= c && c <= 'Z' }
func isLowerHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' }
