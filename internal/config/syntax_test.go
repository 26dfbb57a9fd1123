package config

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The syntax checks say what the regular expressions they replace said,
// on every string of a corpus built from each rule's parts: valid values,
// then each mutated (a byte changed, dropped or added, at every place).
func TestSyntaxAsTheRegexps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		re    string
		check func(string) bool
		valid []string
	}{
		{"snowflake", `^[0-9]{17,20}$`, isSnowflakeSyntax,
			[]string{"12345678901234567", "12345678901234567890"}},
		{"region", `^[a-z0-9]+(-[a-z0-9]+)*$`, isRegion,
			[]string{"eu-west-3", "us-gov-west-1", "local", "a-b-c"}},
		{"cluster", `^[A-Za-z0-9_-]{1,255}$|^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$`, isClusterName,
			[]string{"spawner", "arn:aws:ecs:eu-west-3:123456789012:cluster/spawner", "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/a_b-c",
				"arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/" + strings.Repeat("x", 255)}},
		{"task definition ARN", `^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/([A-Za-z0-9_-]{1,255})(:[0-9]+)?$`, isTaskDefinitionARN,
			[]string{"arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft", "arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft:12"}},
		{"topic ARN", `^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`, isTopicARN,
			[]string{"arn:aws:sns:eu-west-3:123456789012:spawner-alerts", "arn:aws:sns:eu-west-3:123456789012:a.fifo",
				"arn:aws-cn:sns:cn-north-1:123456789012:" + strings.Repeat("t", 256)}},
		{"subnet id", `^subnet-[0-9a-f]+$`, awsID("subnet"), []string{"subnet-0a1b2c3d"}},
		{"security group id", `^sg-[0-9a-f]+$`, awsID("sg"), []string{"sg-0123abcd"}},
		{"table", `^[A-Za-z0-9_.-]{3,255}$`, isTableName, []string{"spawner-servers", "a.b", strings.Repeat("T", 255)}},
		{"public path", `^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*/?$`, isPublicPath, []string{"", "/", "/spawner", "/a/b.c/~d_e-f/", "/-x"}},
		{"deployment", `^[A-Za-z0-9_.:/=+@-]{1,128}$`, isDeployment, []string{"spawner-servers", "a:b/c=d+e@f", strings.Repeat("d", 128)}},
		{"host name", `^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`, isHostName,
			[]string{"play.example.org", "a", "a-b.c", strings.Repeat("l", 63) + ".org"}},
		{"image", `^[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$`, isImage,
			[]string{"itzg/minecraft-server", "itzg/minecraft-server:java21", "ghcr.io:443/a/b:Tag_1.2-x", "a:" + strings.Repeat("T", 128),
				"busybox@sha256:" + strings.Repeat("0f", 32), "reg:5000/img:V1@sha256:" + strings.Repeat("a1", 32)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re := regexp.MustCompile(tc.re)
			for _, s := range syntaxCorpus(tc.valid) {
				if got, want := tc.check(s), re.MatchString(s); got != want {
					t.Errorf("%q: %t, the regexp %s says %t", s, got, tc.re, want)
				}
			}
		})
	}
}

// syntaxCorpus is valid, each value mutated at every place (a byte
// replaced by each of a set of telling ones, dropped, or one added), and
// random strings of those bytes of every length up to 300.
func syntaxCorpus(valid []string) []string {
	const bytes = "aZ09_-.:/@=+~% \n\xc3\xa9"
	out := []string{""}
	for _, v := range valid {
		out = append(out, v, v+v, strings.ToUpper(v), v+"/", "/"+v, v+".", "."+v)
		for i := 0; i <= len(v); i++ {
			if i < len(v) {
				out = append(out, v[:i]+v[i+1:])
			}
			for j := 0; j < len(bytes); j++ {
				out = append(out, v[:i]+bytes[j:j+1]+v[i:])
				if i < len(v) {
					out = append(out, v[:i]+bytes[j:j+1]+v[i+1:])
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 300; n++ {
		for range 4 {
			var b strings.Builder
			for range n {
				b.WriteByte(bytes[r.IntN(len(bytes))])
			}
			out = append(out, b.String())
		}
	}
	return out
}

func TestTaskDefinitionARNFamily(t *testing.T) {
	for v, want := range map[string]string{
		"arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft":    "minecraft",
		"arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft:12": "minecraft",
	} {
		if got, ok := taskDefinitionARNFamily(v); !ok || got != want {
			t.Errorf("family of %s = %q, %t; want %q", v, got, ok, want)
		}
	}
}
