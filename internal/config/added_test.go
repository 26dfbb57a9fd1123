package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mineral-contest/spawner/internal/spawner"
)

// dockerEnv is the least a one-machine deployment sets: Discord and the
// public host, no AWS at all.
func dockerEnv() map[string]string {
	env := requiredEnv()
	for _, k := range []string{"AWS_REGION", "AWS_ECS_CLUSTER_NAME", "ECS_TASK_DEFINITION", "DOCKER_IMAGE_NAME", "ECS_SUBNETS", "ECS_SECURITY_GROUPS", "AWS_DYNAMODB_TABLE_NAME"} {
		delete(env, k)
	}
	env["DOCKER_PUBLIC_HOST"] = "play.example.org"
	return env
}

// TestLoadDocker: without a cluster, servers run in Docker and live in the
// embedded store; no AWS variable is needed, and the deployment is named
// after the guild.
func TestLoadDocker(t *testing.T) {
	c := mustLoad(t, dockerEnv())
	equal(t, c.Runtime, RuntimeDocker)
	equal(t, c.EmbeddedStore(), true)
	equal(t, c.DataDir, "./data")
	equal(t, c.DockerPublicHost, "play.example.org")
	equal(t, c.DockerPorts, PortRange{First: 25565, Last: 25664})
	equal(t, c.DockerPorts.Len(), 100)
	equal(t, c.GameImage, "itzg/minecraft-server")
	equal(t, c.Deployment, "1100000000000000001")
	equal(t, c.AWSRegion, "")

	g, _ := c.Catalog().Lookup("")
	equal(t, g.Image, "itzg/minecraft-server")
	equal(t, g.Protocol, spawner.ProtocolMinecraft)
	equal(t, g.ExtendDuration, 30*time.Minute)

	// The ECS runtime asked for by name needs its variables again.
	errs := loadErrors(t, with(dockerEnv(), map[string]string{"SPAWNER_RUNTIME": "ECS"}))
	equal(t, errs.Vars(), []string{"AWS_REGION", "AWS_ECS_CLUSTER_NAME", "ECS_TASK_DEFINITION", "DOCKER_IMAGE_NAME", "ECS_SUBNETS", "ECS_SECURITY_GROUPS"})

	// docker asked for by name with a cluster set: the cluster is ignored,
	// DOCKER_PUBLIC_HOST is required.
	errs = loadErrors(t, with(requiredEnv(), map[string]string{"SPAWNER_RUNTIME": "docker"}))
	equal(t, errs.Vars(), []string{"DOCKER_PUBLIC_HOST"})

	// A DynamoDB table with Docker needs the region.
	errs = loadErrors(t, with(dockerEnv(), map[string]string{"AWS_DYNAMODB_TABLE_NAME": "spawner"}))
	equal(t, errs.Vars(), []string{"AWS_REGION"})
	c = mustLoad(t, with(dockerEnv(), map[string]string{"AWS_DYNAMODB_TABLE_NAME": "spawner", "AWS_REGION": "eu-west-3"}))
	equal(t, c.EmbeddedStore(), false)
	equal(t, c.Deployment, "spawner")
}

func TestLoadAdded(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(tb testing.TB, c *Config)
	}{
		{"ecs defaults", nil, func(tb testing.TB, c *Config) {
			equal(tb, c.Runtime, RuntimeECS)
			equal(tb, c.Deployment, "mineralcontest_tasks")
			equal(tb, c.SQSQueueURL, "")
			equal(tb, c.PublicURL, "")
			equal(tb, c.WebSecretRandom, true)
			g, _ := c.Catalog().Lookup("")
			equal(tb, g.Image, "")
			equal(tb, g.ExtendDuration, 30*time.Minute)
		}},
		{"events and pages", map[string]string{
			"AWS_SQS_EVENTS_QUEUE_URL": "https://sqs.eu-west-3.amazonaws.com/123456789012/spawner-events",
			"AWS_ENDPOINT_URL_SQS":     "http://127.0.0.1:4100",
			"PUBLIC_URL":               "https://spawner.example.org/bot/",
			"WEB_SECRET":               "0123456789abcdef0123",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.SQSQueueURL, "https://sqs.eu-west-3.amazonaws.com/123456789012/spawner-events")
			equal(tb, c.SQSEndpoint, "http://127.0.0.1:4100")
			equal(tb, c.PublicURL, "https://spawner.example.org/bot")
			equal(tb, c.WebSecret.Value(), "0123456789abcdef0123")
			equal(tb, c.WebSecretRandom, false)
		}},
		{"extensions, cooldown and deployment", map[string]string{
			"GAMESERVER_EXTEND_DURATION": "45m",
			"GAMESERVER_MAX_EXTENSIONS":  "0",
			"GAMESERVER_CREATE_COOLDOWN": "0",
			"SPAWNER_DEPLOYMENT":         "community-a",
			"GAMESERVER_MAX_SERVERS":     "50",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.ExtendDuration, 45*time.Minute)
			equal(tb, c.MaxExtensions, 0)
			equal(tb, c.CreateCooldown, time.Duration(0))
			equal(tb, c.Deployment, "community-a")
			equal(tb, c.MaxServers, 50)
			g, _ := c.Catalog().Lookup("")
			equal(tb, g.ExtendDuration, 45*time.Minute)
		}},
		{"docker settings", map[string]string{
			"SPAWNER_RUNTIME":    "docker",
			"DOCKER_PUBLIC_HOST": "203.0.113.7",
			"DOCKER_HOST":        "tcp://docker-socket-proxy:2375",
			"DOCKER_PORT_RANGE":  "30000 - 30000",
			"GAMESERVER_IMAGE":   "ghcr.io/example/paper:1.21-java21",
			"SPAWNER_DATA_DIR":   "/var/lib/spawner",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.Runtime, RuntimeDocker)
			equal(tb, c.DockerPublicHost, "203.0.113.7")
			equal(tb, c.DockerHost, "tcp://docker-socket-proxy:2375")
			equal(tb, c.DockerPorts, PortRange{First: 30000, Last: 30000})
			equal(tb, c.GameImage, "ghcr.io/example/paper:1.21-java21")
			equal(tb, c.DataDir, "/var/lib/spawner")
			g, _ := c.Catalog().Lookup("")
			equal(tb, g.Image, "ghcr.io/example/paper:1.21-java21")
		}},
		{"@everyone as the user role", map[string]string{"DISCORD_USER_ROLE_ID": "1100000000000000001"}, func(tb testing.TB, c *Config) {
			equal(tb, c.UserRoleIDs, []string{c.GuildID})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, mustLoad(t, with(requiredEnv(), tc.env)))
		})
	}
}

func TestLoadAddedMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // the variable named
		says string // part of the problem
	}{
		{"unknown runtime", map[string]string{"SPAWNER_RUNTIME": "kubernetes"}, "SPAWNER_RUNTIME", "must be ecs (AWS ECS Fargate) or docker"},
		{"queue not a URL", map[string]string{"AWS_SQS_EVENTS_QUEUE_URL": "spawner-events"}, "AWS_SQS_EVENTS_QUEUE_URL", "http or https URL"},
		{"queue under docker", map[string]string{"SPAWNER_RUNTIME": "docker", "DOCKER_PUBLIC_HOST": "play.example.org", "AWS_SQS_EVENTS_QUEUE_URL": "https://sqs.eu-west-3.amazonaws.com/1/q"}, "AWS_SQS_EVENTS_QUEUE_URL", "SPAWNER_RUNTIME=ecs"},
		{"sqs endpoint", map[string]string{"AWS_ENDPOINT_URL_SQS": "localhost:4100"}, "AWS_ENDPOINT_URL_SQS", "http or https URL"},
		{"public url relative", map[string]string{"PUBLIC_URL": "/spawner"}, "PUBLIC_URL", "http or https URL"},
		{"public url with query", map[string]string{"PUBLIC_URL": "https://spawner.example.org/?a=1"}, "PUBLIC_URL", "no query"},
		{"public url ftp", map[string]string{"PUBLIC_URL": "ftp://spawner.example.org"}, "PUBLIC_URL", "http or https URL"},
		{"public url path with a space", map[string]string{"PUBLIC_URL": "https://example.org/my spawner"}, "PUBLIC_URL", "path"},
		{"public url path with dots", map[string]string{"PUBLIC_URL": "https://example.org/a/../spawner"}, "PUBLIC_URL", "path"},
		{"public url path escaped", map[string]string{"PUBLIC_URL": "https://example.org/sp%61wner"}, "PUBLIC_URL", "path"},
		{"web secret too short", map[string]string{"WEB_SECRET": "short"}, "WEB_SECRET", "at least 16"},
		{"extend duration zero", map[string]string{"GAMESERVER_EXTEND_DURATION": "0"}, "GAMESERVER_EXTEND_DURATION", "below the minimum of 1m"},
		{"extend duration bare number", map[string]string{"GAMESERVER_EXTEND_DURATION": "1800000"}, "GAMESERVER_EXTEND_DURATION", "with a unit"},
		{"max extensions negative", map[string]string{"GAMESERVER_MAX_EXTENSIONS": "-1"}, "GAMESERVER_MAX_EXTENSIONS", "from 0 to 100"},
		{"cooldown", map[string]string{"GAMESERVER_CREATE_COOLDOWN": "soon"}, "GAMESERVER_CREATE_COOLDOWN", "duration"},
		{"deployment with spaces", map[string]string{"SPAWNER_DEPLOYMENT": "my bot"}, "SPAWNER_DEPLOYMENT", "tag"},
		{"max servers above a category", map[string]string{"GAMESERVER_MAX_SERVERS": "51"}, "GAMESERVER_MAX_SERVERS", "a Discord category holds at most 50 channels"},
		{"public host with scheme", map[string]string{"SPAWNER_RUNTIME": "docker", "DOCKER_PUBLIC_HOST": "http://play.example.org"}, "DOCKER_PUBLIC_HOST", "without scheme or port"},
		{"public host with port", map[string]string{"SPAWNER_RUNTIME": "docker", "DOCKER_PUBLIC_HOST": "play.example.org:25565"}, "DOCKER_PUBLIC_HOST", "without scheme or port"},
		{"port range reversed", map[string]string{"DOCKER_PORT_RANGE": "25664-25565"}, "DOCKER_PORT_RANGE", "lower port to the higher"},
		{"port range zero", map[string]string{"DOCKER_PORT_RANGE": "0-10"}, "DOCKER_PORT_RANGE", "1 to 65535"},
		{"port range too high", map[string]string{"DOCKER_PORT_RANGE": "65000-65536"}, "DOCKER_PORT_RANGE", "1 to 65535"},
		{"port range words", map[string]string{"DOCKER_PORT_RANGE": "many"}, "DOCKER_PORT_RANGE", "1 to 65535"},
		{"image with spaces", map[string]string{"GAMESERVER_IMAGE": "itzg/minecraft server"}, "GAMESERVER_IMAGE", "image reference"},
		{"create table without a table", map[string]string{"AWS_DYNAMODB_TABLE_NAME": "", "DYNAMODB_CREATE_TABLE": "true"}, "AWS_DYNAMODB_TABLE_NAME", "DYNAMODB_CREATE_TABLE=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), tc.env))
			if !slices.Equal(errs.Vars(), []string{tc.want}) {
				t.Fatalf("problems with %v, want %s alone:\n%v", errs.Vars(), tc.want, errs)
			}
			if !strings.Contains(errs[0].Problem, tc.says) {
				t.Errorf("%s: %q does not say %q", tc.want, errs[0].Problem, tc.says)
			}
		})
	}
}

// TestLoadRedactsPastedSecrets: a secret pasted into another variable by
// mistake is never echoed, whether the daemon reads it (DISCORD_TOKEN,
// WEB_SECRET, static credentials) or leaves it to the AWS SDK's chain.
func TestLoadRedactsPastedSecrets(t *testing.T) {
	const awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	const webSecret = "LEAKED-WEB-SECRET-0123456789"
	for _, tc := range []struct {
		name   string
		env    map[string]string
		secret string
	}{
		{"SDK's secret key in the cluster", map[string]string{"AWS_SECRET_ACCESS_KEY": awsSecret, "AWS_ECS_CLUSTER_NAME": awsSecret}, awsSecret},
		{"SDK's secret key in a list", map[string]string{"AWS_SECRET_ACCESS_KEY": awsSecret, "ECS_SUBNETS": "subnet-0a," + awsSecret}, awsSecret},
		{"session token in the table", map[string]string{"AWS_SESSION_TOKEN": webSecret, "AWS_DYNAMODB_TABLE_NAME": webSecret + " x"}, webSecret},
		{"web secret in the public URL", map[string]string{"WEB_SECRET": webSecret, "PUBLIC_URL": "https://x/?" + webSecret}, webSecret},
		{"web secret in the public URL's path", map[string]string{"WEB_SECRET": webSecret, "PUBLIC_URL": "https://x/" + webSecret + "/%20"}, webSecret},
		{"legacy secret key name", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID0004", legacySecretKey: awsSecret, "ECS_TASK_DEFINITION": awsSecret}, awsSecret},
		{"Discord token in the guild id", map[string]string{"DISCORD_GUILD_ID": testToken}, testToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), tc.env))
			if strings.Contains(errs.Error(), tc.secret) {
				t.Errorf("the secret appears in the error:\n%v", errs)
			}
			if !strings.Contains(errs.Error(), redacted) {
				t.Errorf("the error does not show where the secret was:\n%v", errs)
			}
		})
	}
}

// TestLoadMissingSecretFileOneProblem: X_FILE naming a missing file is one
// problem, about the file, not also "X: required".
func TestLoadMissingSecretFileOneProblem(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-token")
	env := with(requiredEnv(), map[string]string{"DISCORD_TOKEN": "", "DISCORD_TOKEN_FILE": missing})
	errs := loadErrors(t, env)
	equal(t, errs.Vars(), []string{"DISCORD_TOKEN_FILE"})

	env = with(requiredEnv(), map[string]string{"AWS_ACCESS_KEY_ID_FILE": missing, "AWS_SECRET_ACCESS_KEY_FILE": missing})
	errs = loadErrors(t, env)
	equal(t, errs.Vars(), []string{"AWS_ACCESS_KEY_ID_FILE", "AWS_SECRET_ACCESS_KEY_FILE"})
}

// TestLoadRefusesMisplacedSecret: a secret pasted into a variable where it
// is a valid value (a cluster name, a table name) would reach AWS and be
// echoed in its errors: Load refuses it, naming the secret, not its value.
func TestLoadRefusesMisplacedSecret(t *testing.T) {
	const awsSecret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
	for _, tc := range []struct {
		name, variable, secret string
		env                    map[string]string
	}{
		{"SDK's secret key as the cluster", "AWS_ECS_CLUSTER_NAME", "AWS_SECRET_ACCESS_KEY",
			map[string]string{"AWS_SECRET_ACCESS_KEY": awsSecret, "AWS_ECS_CLUSTER_NAME": awsSecret}},
		{"Discord token as the table", "AWS_DYNAMODB_TABLE_NAME", "DISCORD_TOKEN",
			map[string]string{"AWS_DYNAMODB_TABLE_NAME": "t" + strings.ReplaceAll(testToken, ".", "-")[:20]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := with(requiredEnv(), tc.env)
			if tc.secret == "DISCORD_TOKEN" {
				env["DISCORD_TOKEN"] = strings.ReplaceAll(testToken, ".", "-")[:20]
			}
			errs := loadErrors(t, env)
			value := env[tc.variable]
			if strings.Contains(errs.Error(), value) || strings.Contains(errs.Error(), awsSecret) {
				t.Errorf("the secret appears in the error:\n%v", errs)
			}
			if !strings.Contains(errs.Error(), tc.variable+": holds the value of "+tc.secret) {
				t.Errorf("the error does not say %s holds %s:\n%v", tc.variable, tc.secret, errs)
			}
		})
	}
}
