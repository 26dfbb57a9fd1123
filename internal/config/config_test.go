package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/joho/godotenv"

	"github.com/mineral-contest/spawner/internal/cost"
)

// requiredVars are the variables without a default when nothing says ECS:
// the Docker runtime and the embedded store, in the order Load reports them.
var requiredVars = []string{
	"DISCORD_TOKEN",
	"DISCORD_GUILD_ID",
	"DISCORD_USER_ROLE_ID",
	"DISCORD_ADMIN_ROLE_ID",
	"DISCORD_GAMESERVER_CATEGORY_ID",
	"DOCKER_PUBLIC_HOST",
}

// requiredECSVars are the variables without a default under
// SPAWNER_RUNTIME=ecs, in the order Load reports them (the order of
// interface.md's table); the table is optional: without it, servers live
// in the embedded store.
var requiredECSVars = []string{
	"DISCORD_TOKEN",
	"DISCORD_GUILD_ID",
	"DISCORD_USER_ROLE_ID",
	"DISCORD_ADMIN_ROLE_ID",
	"DISCORD_GAMESERVER_CATEGORY_ID",
	"AWS_REGION",
	"AWS_ECS_CLUSTER_NAME",
	"ECS_TASK_DEFINITION",
	"DOCKER_IMAGE_NAME",
	"ECS_SUBNETS",
	"ECS_SECURITY_GROUPS",
}

// testToken is recognisable, so a test can tell it never leaked.
const testToken = "MTEwMDAwMDAwMDAwMDAwMDAwMg.GxYzAb.LEAKED-DISCORD-TOKEN-0123456789"

// requiredEnv sets every required variable to a valid value and nothing else.
func requiredEnv() map[string]string {
	return map[string]string{
		"DISCORD_TOKEN":                  testToken,
		"DISCORD_GUILD_ID":               "1100000000000000001",
		"DISCORD_USER_ROLE_ID":           "1100000000000000020",
		"DISCORD_ADMIN_ROLE_ID":          "1100000000000000021",
		"DISCORD_GAMESERVER_CATEGORY_ID": "1100000000000000010",
		"AWS_REGION":                     "eu-west-3",
		"AWS_ECS_CLUSTER_NAME":           "gameservers",
		"ECS_TASK_DEFINITION":            "minecraft-server",
		"DOCKER_IMAGE_NAME":              "minecraft",
		"ECS_SUBNETS":                    "subnet-0123456789abcdef0",
		"ECS_SECURITY_GROUPS":            "sg-0123456789abcdef0",
		"AWS_DYNAMODB_TABLE_NAME":        "mineralcontest_tasks",
	}
}

// with returns a copy of env with the overrides applied.
func with(env map[string]string, overrides map[string]string) map[string]string {
	out := maps.Clone(env)
	maps.Copy(out, overrides)
	return out
}

func load(tb testing.TB, env map[string]string) (*Config, error) {
	tb.Helper()
	return Load(func(k string) string { return env[k] }, os.ReadFile)
}

func mustLoad(tb testing.TB, env map[string]string) *Config {
	tb.Helper()
	c, err := load(tb, env)
	if err != nil {
		tb.Fatalf("Load: unexpected error:\n%v", err)
	}
	// A random web secret differs at every Load: check it, then blank it so
	// configurations compare.
	if c.WebSecretRandom {
		if n := len(c.WebSecret.Value()); n != 32 {
			tb.Fatalf("random WebSecret has %d bytes, want 32", n)
		}
		c.WebSecret = Secret{}
	}
	return c
}

// loadErrors loads env and returns its problems, failing when there are none.
func loadErrors(tb testing.TB, env map[string]string) Errors {
	tb.Helper()
	c, err := load(tb, env)
	if err == nil {
		tb.Fatalf("Load succeeded, want an error; config: %+v", c)
	}
	if c != nil {
		tb.Errorf("Load returned a config with its error: %+v", c)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		tb.Fatalf("Load error is %T, want config.Errors: %v", err, err)
	}
	return errs
}

func defaults() *Config {
	u, _ := url.Parse("https://discord.com")
	return &Config{
		DiscordToken:       NewSecret(testToken),
		GuildID:            "1100000000000000001",
		UserRoleIDs:        []string{"1100000000000000020"},
		AdminRoleIDs:       []string{"1100000000000000021"},
		CategoryID:         "1100000000000000010",
		DiscordAPIURL:      u,
		AWSRegion:          "eu-west-3",
		Cluster:            "gameservers",
		TaskDefinition:     "minecraft-server",
		Container:          "minecraft",
		Subnets:            []string{"subnet-0123456789abcdef0"},
		SecurityGroups:     []string{"sg-0123456789abcdef0"},
		AssignPublicIP:     true,
		CapacityProvider:   "FARGATE",
		Table:              "mineralcontest_tasks",
		Port:               25565,
		MaxDuration:        90 * time.Minute,
		MaxDurationWarning: 10 * time.Minute,
		MinPlayers:         4,
		WarningCount:       3,
		CheckInterval:      5 * time.Minute,
		ReadyTimeout:       10 * time.Minute,
		PollInterval:       time.Second,
		MaxServers:         10,
		TicketCloseDelay:   2 * time.Minute,
		LogFormat:          "text",
		LogLevel:           slog.LevelInfo,
		WebSecretRandom:    true,
		ExtendDuration:     30 * time.Minute,
		MaxExtensions:      2,
		CreateCooldown:     2 * time.Minute,
		Deployment:         "mineralcontest_tasks",
		Runtime:            RuntimeECS,
		DataDir:            "./data",
		DockerPorts:        PortRange{First: 25565, Last: 25664},
		GameImage:          "itzg/minecraft-server",
		CostRates:          cost.DefaultRates(),
		WorldBackupsKeep:   5,
		WorldSleepMax:      168 * time.Hour,
	}
}

func TestLoadDefaults(t *testing.T) {
	got := mustLoad(t, requiredEnv())
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load with only the required variables:\n got %+v\nwant %+v", got, want)
	}
	if got.DiscordToken.Value() != testToken {
		t.Errorf("DiscordToken.Value() = %q, want the token", got.DiscordToken.Value())
	}
	if got.HasStaticAWSCredentials() {
		t.Error("HasStaticAWSCredentials() = true without any AWS_*_FILE")
	}
}

func TestLoadAccepts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(tb testing.TB, c *Config)
	}{
		{"values trimmed", map[string]string{"DISCORD_GUILD_ID": "  1100000000000000001\t", "GAMESERVER_PORT": " 25566 "}, func(tb testing.TB, c *Config) {
			equal(tb, c.GuildID, "1100000000000000001")
			equal(tb, c.Port, 25566)
		}},
		{"id lists skip blanks, spaces and repeats", map[string]string{
			"DISCORD_USER_ROLE_ID":  "1100000000000000020, 1100000000000000022,,1100000000000000020,",
			"DISCORD_ADMIN_ROLE_ID": " 1100000000000000021 ,",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.UserRoleIDs, []string{"1100000000000000020", "1100000000000000022"})
			equal(tb, c.AdminRoleIDs, []string{"1100000000000000021"})
		}},
		{"subnet and security group lists", map[string]string{
			"ECS_SUBNETS":         "subnet-0123456789abcdef0, subnet-0fedcba9876543210,",
			"ECS_SECURITY_GROUPS": "sg-0123456789abcdef0,sg-12345678",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.Subnets, []string{"subnet-0123456789abcdef0", "subnet-0fedcba9876543210"})
			equal(tb, c.SecurityGroups, []string{"sg-0123456789abcdef0", "sg-12345678"})
		}},
		{"log channel", map[string]string{"DISCORD_LOG_CHANNEL_ID": "1100000000000000011"}, func(tb testing.TB, c *Config) {
			equal(tb, c.LogChannelID, "1100000000000000011")
		}},
		{"discord api url trailing slash trimmed", map[string]string{"DISCORD_API_URL": "http://127.0.0.1:8080/proxy/"}, func(tb testing.TB, c *Config) {
			equal(tb, c.DiscordAPIURL.String(), "http://127.0.0.1:8080/proxy")
		}},
		{"discord api url bare host", map[string]string{"DISCORD_API_URL": "https://discord-proxy.internal/"}, func(tb testing.TB, c *Config) {
			equal(tb, c.DiscordAPIURL.String(), "https://discord-proxy.internal")
		}},
		{"aws endpoints as given", map[string]string{
			"AWS_ENDPOINT_URL":          "http://127.0.0.1:4566/",
			"AWS_ENDPOINT_URL_ECS":      "http://127.0.0.1:4567",
			"AWS_ENDPOINT_URL_EC2":      "https://ec2.internal",
			"AWS_ENDPOINT_URL_DYNAMODB": "http://[::1]:8000",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.AWSEndpoint, "http://127.0.0.1:4566/")
			equal(tb, c.ECSEndpoint, "http://127.0.0.1:4567")
			equal(tb, c.EC2Endpoint, "https://ec2.internal")
			equal(tb, c.DynamoDBEndpoint, "http://[::1]:8000")
		}},
		{"AWS_DEFAULT_REGION when AWS_REGION is unset", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-1"}, func(tb testing.TB, c *Config) {
			equal(tb, c.AWSRegion, "us-east-1")
		}},
		{"AWS_REGION wins over AWS_DEFAULT_REGION", map[string]string{"AWS_DEFAULT_REGION": "us-east-1"}, func(tb testing.TB, c *Config) {
			equal(tb, c.AWSRegion, "eu-west-3")
		}},
		{"cluster arn", map[string]string{"AWS_ECS_CLUSTER_NAME": "arn:aws:ecs:eu-west-3:123456789012:cluster/gameservers"}, func(tb testing.TB, c *Config) {
			equal(tb, c.Cluster, "arn:aws:ecs:eu-west-3:123456789012:cluster/gameservers")
		}},
		{"public ip off with No", map[string]string{"ECS_ASSIGN_PUBLIC_IP": "No"}, func(tb testing.TB, c *Config) {
			equal(tb, c.AssignPublicIP, false)
		}},
		{"public ip off with 0", map[string]string{"ECS_ASSIGN_PUBLIC_IP": "0"}, func(tb testing.TB, c *Config) {
			equal(tb, c.AssignPublicIP, false)
		}},
		{"public ip on with TRUE", map[string]string{"ECS_ASSIGN_PUBLIC_IP": "TRUE"}, func(tb testing.TB, c *Config) {
			equal(tb, c.AssignPublicIP, true)
		}},
		{"capacity provider upper-cased", map[string]string{"ECS_CAPACITY_PROVIDER": "fargate_spot"}, func(tb testing.TB, c *Config) {
			equal(tb, c.CapacityProvider, "FARGATE_SPOT")
		}},
		{"create table yes", map[string]string{"DYNAMODB_CREATE_TABLE": "yes"}, func(tb testing.TB, c *Config) {
			equal(tb, c.CreateTable, true)
		}},
		{"table name with dots", map[string]string{"AWS_DYNAMODB_TABLE_NAME": "spawner.prod-servers_v2"}, func(tb testing.TB, c *Config) {
			equal(tb, c.Table, "spawner.prod-servers_v2")
		}},
		{"game settings", map[string]string{
			"GAMESERVER_PORT":                               "25566",
			"GAMESERVER_VERSION":                            "1.20.1 (Forge)",
			"GAMESERVER_MIN_REQUIRED_PLAYERS":               "0",
			"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT": "1",
			"GAMESERVER_MAX_SERVERS":                        "1",
		}, func(tb testing.TB, c *Config) {
			equal(tb, c.Port, 25566)
			equal(tb, c.Version, "1.20.1 (Forge)")
			equal(tb, c.MinPlayers, 0)
			equal(tb, c.WarningCount, 1)
			equal(tb, c.MaxServers, 1)
		}},
		{"ticket close delay 0", map[string]string{"DISCORD_TICKET_CLOSE_DELAY": "0"}, func(tb testing.TB, c *Config) {
			equal(tb, c.TicketCloseDelay, time.Duration(0))
		}},
		{"poll interval", map[string]string{"GAMESERVER_POLL_INTERVAL": "250ms"}, func(tb testing.TB, c *Config) {
			equal(tb, c.PollInterval, 250*time.Millisecond)
		}},
		{"http addr on loopback port 0", map[string]string{"HTTP_ADDR": "127.0.0.1:0"}, func(tb testing.TB, c *Config) {
			equal(tb, c.HTTPAddr, "127.0.0.1:0")
		}},
		{"http addr any host", map[string]string{"HTTP_ADDR": ":9090"}, func(tb testing.TB, c *Config) {
			equal(tb, c.HTTPAddr, ":9090")
		}},
		{"json logs at debug, any case", map[string]string{"LOG_FORMAT": "JSON", "LOG_LEVEL": "Debug"}, func(tb testing.TB, c *Config) {
			equal(tb, c.LogFormat, "json")
			equal(tb, c.LogLevel, slog.LevelDebug)
		}},
		{"warn level", map[string]string{"LOG_LEVEL": "warn"}, func(tb testing.TB, c *Config) {
			equal(tb, c.LogLevel, slog.LevelWarn)
		}},
		{"unknown variables ignored", map[string]string{"DISCORD_CLIENT_ID": "not-an-id", "NODE_ENV": "production"}, func(tb testing.TB, c *Config) {
			equal(tb, c.GuildID, "1100000000000000001")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, mustLoad(t, with(requiredEnv(), tc.env)))
		})
	}
}

func equal[T any](tb testing.TB, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("got %#v, want %#v", got, want)
	}
}

// TestLoadMalformed sets one variable at a time to a bad value: the error
// must name that variable alone, say what is expected and show the value.
func TestLoadMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		want  string // the variable named
		says  string // part of the problem
		shown string // the value, shown back; "" when it must not be
	}{
		{"guild id letters", map[string]string{"DISCORD_GUILD_ID": "abc"}, "DISCORD_GUILD_ID", "must be a Discord id (", "abc"},
		{"guild id too short", map[string]string{"DISCORD_GUILD_ID": "12345"}, "DISCORD_GUILD_ID", "17 to 20 digits", "12345"},
		{"guild id beyond 64 bits", map[string]string{"DISCORD_GUILD_ID": "99999999999999999999"}, "DISCORD_GUILD_ID", "must be a Discord id", "99999999999999999999"},
		{"user role mention pasted", map[string]string{"DISCORD_USER_ROLE_ID": "1100000000000000020,<@&1100000000000000022>"}, "DISCORD_USER_ROLE_ID", "each item must be a Discord id", "<@&1100000000000000022>"},
		{"admin role name", map[string]string{"DISCORD_ADMIN_ROLE_ID": "Admins"}, "DISCORD_ADMIN_ROLE_ID", "must be a Discord id", "Admins"},
		{"category name", map[string]string{"DISCORD_GAMESERVER_CATEGORY_ID": "Game servers"}, "DISCORD_GAMESERVER_CATEGORY_ID", "must be a Discord id", "Game servers"},
		{"log channel name", map[string]string{"DISCORD_LOG_CHANNEL_ID": "#logs"}, "DISCORD_LOG_CHANNEL_ID", "must be a Discord id", "#logs"},
		{"api url without scheme", map[string]string{"DISCORD_API_URL": "discord.com"}, "DISCORD_API_URL", "must be an http or https URL", "discord.com"},
		{"api url ftp", map[string]string{"DISCORD_API_URL": "ftp://discord.com"}, "DISCORD_API_URL", "must be an http or https URL", "ftp://discord.com"},
		{"api url with query", map[string]string{"DISCORD_API_URL": "https://proxy.example/?key=1"}, "DISCORD_API_URL", "no query", "https://proxy.example/?key=1"},
		{"api url with fragment", map[string]string{"DISCORD_API_URL": "https://proxy.example/#api"}, "DISCORD_API_URL", "no query (?) or fragment", "https://proxy.example/#api"},
		{"api url with password", map[string]string{"DISCORD_API_URL": "https://bot:hunter2-proxy-password@proxy.example"}, "DISCORD_API_URL", "without user or password", ""},
		{"region with spaces", map[string]string{"AWS_REGION": "EU West 3"}, "AWS_REGION", "must be an AWS region like eu-west-3", "EU West 3"},
		{"default region bad", map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "Paris"}, "AWS_DEFAULT_REGION", "must be an AWS region", "Paris"},
		{"endpoint host:port", map[string]string{"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL", "must be an http or https URL", "localhost:4566"},
		{"ecs endpoint words", map[string]string{"AWS_ENDPOINT_URL_ECS": "fake ecs"}, "AWS_ENDPOINT_URL_ECS", "must be an http or https URL", "fake ecs"},
		{"ec2 endpoint no host", map[string]string{"AWS_ENDPOINT_URL_EC2": "http://"}, "AWS_ENDPOINT_URL_EC2", "must be an http or https URL", "http://"},
		{"dynamodb endpoint path only", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "/dynamo"}, "AWS_ENDPOINT_URL_DYNAMODB", "must be an http or https URL", "/dynamo"},
		{"cluster with space", map[string]string{"AWS_ECS_CLUSTER_NAME": "game servers"}, "AWS_ECS_CLUSTER_NAME", "must be an ECS cluster name", "game servers"},
		{"task definition with revision", map[string]string{"ECS_TASK_DEFINITION": "minecraft-server:3"}, "ECS_TASK_DEFINITION", `latest ACTIVE revision of the family is used; use "minecraft-server" instead`, "minecraft-server:3"},
		{"task definition arn", map[string]string{"ECS_TASK_DEFINITION": "arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft-server:7"}, "ECS_TASK_DEFINITION", `use "minecraft-server" instead`, "arn:aws:ecs:eu-west-3:123456789012:task-definition/minecraft-server:7"},
		{"task definition with slash", map[string]string{"ECS_TASK_DEFINITION": "games/minecraft"}, "ECS_TASK_DEFINITION", "must be a task definition family name", "games/minecraft"},
		{"container is an image", map[string]string{"DOCKER_IMAGE_NAME": "itzg/minecraft-server:latest"}, "DOCKER_IMAGE_NAME", "not an image reference", "itzg/minecraft-server:latest"},
		{"subnet not hex", map[string]string{"ECS_SUBNETS": "subnet-0123456789abcdef0,subnet-public"}, "ECS_SUBNETS", "each item must be an id like subnet-0123456789abcdef0", "subnet-public"},
		{"vpc given as subnet", map[string]string{"ECS_SUBNETS": "vpc-0123456789abcdef0"}, "ECS_SUBNETS", "subnet-", "vpc-0123456789abcdef0"},
		{"too many subnets", map[string]string{"ECS_SUBNETS": manySubnets(17)}, "ECS_SUBNETS", "at most 16", "17"},
		{"security group name", map[string]string{"ECS_SECURITY_GROUPS": "default"}, "ECS_SECURITY_GROUPS", "each item must be an id like sg-0123456789abcdef0", "default"},
		{"public ip ECS word", map[string]string{"ECS_ASSIGN_PUBLIC_IP": "ENABLED"}, "ECS_ASSIGN_PUBLIC_IP", "must be true or false", "ENABLED"},
		{"capacity provider EC2", map[string]string{"ECS_CAPACITY_PROVIDER": "EC2"}, "ECS_CAPACITY_PROVIDER", "must be FARGATE or FARGATE_SPOT", "EC2"},
		{"table too short", map[string]string{"AWS_DYNAMODB_TABLE_NAME": "ab"}, "AWS_DYNAMODB_TABLE_NAME", "must be a DynamoDB table name", "ab"},
		{"table with space", map[string]string{"AWS_DYNAMODB_TABLE_NAME": "game servers"}, "AWS_DYNAMODB_TABLE_NAME", "3 to 255 letters", "game servers"},
		{"create table maybe", map[string]string{"DYNAMODB_CREATE_TABLE": "maybe"}, "DYNAMODB_CREATE_TABLE", "must be true or false", "maybe"},
		{"port 0", map[string]string{"GAMESERVER_PORT": "0"}, "GAMESERVER_PORT", "from 1 to 65535", "0"},
		{"port too big", map[string]string{"GAMESERVER_PORT": "65536"}, "GAMESERVER_PORT", "from 1 to 65535", "65536"},
		{"port name", map[string]string{"GAMESERVER_PORT": "minecraft"}, "GAMESERVER_PORT", "whole number", "minecraft"},
		{"max duration words", map[string]string{"GAMESERVER_MAX_DURATION": "1.5 hours"}, "GAMESERVER_MAX_DURATION", "like 90m, 1h30m or 250ms, or a whole number of milliseconds", "1.5 hours"},
		{"max duration 0", map[string]string{"GAMESERVER_MAX_DURATION": "0"}, "GAMESERVER_MAX_DURATION", "below the minimum of 1m", "0"},
		{"max duration negative", map[string]string{"GAMESERVER_MAX_DURATION": "-90m"}, "GAMESERVER_MAX_DURATION", "below the minimum of 1m", "-90m"},
		{"max duration huge milliseconds", map[string]string{"GAMESERVER_MAX_DURATION": "99999999999999999"}, "GAMESERVER_MAX_DURATION", "whole number of milliseconds", "99999999999999999"},
		{"max duration warning bare number", map[string]string{"GAMESERVER_MAX_DURATION_WARNING": "600000"}, "GAMESERVER_MAX_DURATION_WARNING", "with a unit like 10m", "600000"},
		{"max duration warning not shorter", map[string]string{"GAMESERVER_MAX_DURATION_WARNING": "90m"}, "GAMESERVER_MAX_DURATION_WARNING", "shorter than GAMESERVER_MAX_DURATION (1h30m0s)", "90m"},
		{"max duration warning longer than legacy max", map[string]string{"GAMESERVER_MAX_DURATION": "600000", "GAMESERVER_MAX_DURATION_WARNING": "15m"}, "GAMESERVER_MAX_DURATION_WARNING", "shorter than GAMESERVER_MAX_DURATION (10m0s)", "15m"},
		{"max duration warning 0", map[string]string{"GAMESERVER_MAX_DURATION_WARNING": "0s"}, "GAMESERVER_MAX_DURATION_WARNING", "below the minimum of 10s", "0s"},
		{"min players negative", map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS": "-1"}, "GAMESERVER_MIN_REQUIRED_PLAYERS", "from 0 to 1000", "-1"},
		{"min players word", map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS": "four"}, "GAMESERVER_MIN_REQUIRED_PLAYERS", "whole number", "four"},
		{"warning count 0", map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT": "0"}, "GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT", "from 1 to 100", "0"},
		{"check interval words", map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "5 minutes"}, "GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "whole number of milliseconds", "5 minutes"},
		{"check interval 0", map[string]string{"GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION": "0"}, "GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "below the minimum of 10s", "0"},
		{"ready timeout decimal milliseconds", map[string]string{"GAMESERVER_READY_TIMEOUT": "600000.5"}, "GAMESERVER_READY_TIMEOUT", "whole number of milliseconds", "600000.5"},
		{"poll interval bare number", map[string]string{"GAMESERVER_POLL_INTERVAL": "5000"}, "GAMESERVER_POLL_INTERVAL", "with a unit", "5000"},
		{"poll interval 0", map[string]string{"GAMESERVER_POLL_INTERVAL": "0s"}, "GAMESERVER_POLL_INTERVAL", "below the minimum of 250ms", "0s"},
		{"max servers 0", map[string]string{"GAMESERVER_MAX_SERVERS": "0"}, "GAMESERVER_MAX_SERVERS", "at least 1", "0"},
		{"ticket close delay negative", map[string]string{"DISCORD_TICKET_CLOSE_DELAY": "-1m"}, "DISCORD_TICKET_CLOSE_DELAY", "below the minimum of 0s", "-1m"},
		{"ticket close delay bare number", map[string]string{"DISCORD_TICKET_CLOSE_DELAY": "120"}, "DISCORD_TICKET_CLOSE_DELAY", "with a unit", "120"},
		{"http addr port only", map[string]string{"HTTP_ADDR": "9090"}, "HTTP_ADDR", "must be host:port", "9090"},
		{"http addr named port", map[string]string{"HTTP_ADDR": "localhost:http"}, "HTTP_ADDR", "must be host:port", "localhost:http"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT", "must be one of text, json", "xml"},
		{"log level", map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL", "must be one of debug, info, warn, error", "verbose"},
		{"token on two lines", map[string]string{"DISCORD_TOKEN": testToken + "\nsecond"}, "DISCORD_TOKEN", "single line", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := loadErrors(t, with(requiredEnv(), tc.env))
			if len(errs) != 1 || errs[0].Var != tc.want {
				t.Fatalf("problems with %v, want only %s:\n%v", errs.Vars(), tc.want, errs)
			}
			msg := errs.Error()
			if !strings.HasPrefix(msg, tc.want+": ") {
				t.Errorf("error does not start with the variable's name:\n%s", msg)
			}
			if !strings.Contains(msg, tc.says) {
				t.Errorf("error does not say %q:\n%s", tc.says, msg)
			}
			if tc.shown != "" && !strings.Contains(msg, tc.shown) {
				t.Errorf("error does not show the value %q:\n%s", tc.shown, msg)
			}
			for _, secret := range []string{testToken, "hunter2"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error shows a secret:\n%s", msg)
				}
			}
		})
	}
}

func manySubnets(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = "subnet-0123456789abcde" + string(rune('a'+i%6)) + string(rune('0'+i%10))
	}
	return strings.Join(items, ",")
}

func TestLoadRequiredMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"empty environment", map[string]string{}, requiredVars},
		{"blank values count as unset", blank(requiredEnv()), requiredVars},
		{"ecs asked for", map[string]string{"SPAWNER_RUNTIME": "ecs"}, requiredECSVars},
		{"ecs by its cluster", with(blank(requiredEnv()), map[string]string{"AWS_ECS_CLUSTER_NAME": "gameservers"}),
			slices.DeleteFunc(slices.Clone(requiredECSVars), func(v string) bool { return v == "AWS_ECS_CLUSTER_NAME" })},
		{"missing and malformed reported together", map[string]string{
			"DISCORD_GUILD_ID":     "my server",
			"GAMESERVER_PORT":      "http",
			"AWS_ECS_CLUSTER_NAME": "gameservers",
		}, []string{
			"DISCORD_TOKEN", "DISCORD_GUILD_ID", "DISCORD_USER_ROLE_ID", "DISCORD_ADMIN_ROLE_ID",
			"DISCORD_GAMESERVER_CATEGORY_ID", "AWS_REGION", "ECS_TASK_DEFINITION", "DOCKER_IMAGE_NAME",
			"ECS_SUBNETS", "ECS_SECURITY_GROUPS", "GAMESERVER_PORT",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := loadErrors(t, tc.env)
			if !slices.Equal(errs.Vars(), tc.want) {
				t.Errorf("problems with\n %v\nwant\n %v\nerror:\n%v", errs.Vars(), tc.want, errs)
			}
			lines := strings.Split(errs.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("error has %d lines, want one per variable (%d):\n%v", len(lines), len(tc.want), errs)
			}
			for i, fe := range errs {
				if !strings.HasPrefix(lines[i], fe.Var+": ") {
					t.Errorf("line %d does not start with %s: %q", i, fe.Var, lines[i])
				}
				if _, set := tc.env[fe.Var]; !set && !strings.HasPrefix(fe.Problem, "required, not set: ") {
					t.Errorf("%s: problem %q does not say it is required", fe.Var, fe.Problem)
				}
			}
		})
	}
}

func blank(env map[string]string) map[string]string {
	out := map[string]string{}
	for k := range env {
		out[k] = "  "
	}
	return out
}

func TestErrorsAs(t *testing.T) {
	_, err := load(t, with(requiredEnv(), map[string]string{"GAMESERVER_PORT": "x"}))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Var != "GAMESERVER_PORT" {
		t.Fatalf("errors.As(*FieldError) = %v, %+v; want GAMESERVER_PORT", errors.As(err, &fe), fe)
	}
}

func TestLoadDurations(t *testing.T) {
	for _, tc := range []struct {
		name, variable, value string
		want                  time.Duration
		field                 func(*Config) time.Duration
	}{
		{"max duration in milliseconds", "GAMESERVER_MAX_DURATION", "3000000", 50 * time.Minute, func(c *Config) time.Duration { return c.MaxDuration }},
		{"max duration original default", "GAMESERVER_MAX_DURATION", "5400000", 90 * time.Minute, func(c *Config) time.Duration { return c.MaxDuration }},
		{"max duration go syntax", "GAMESERVER_MAX_DURATION", "1h30m", 90 * time.Minute, func(c *Config) time.Duration { return c.MaxDuration }},
		{"check interval in milliseconds", "GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "90000", 90 * time.Second, func(c *Config) time.Duration { return c.CheckInterval }},
		{"check interval go syntax", "GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", "2m30s", 150 * time.Second, func(c *Config) time.Duration { return c.CheckInterval }},
		{"ready timeout in milliseconds", "GAMESERVER_READY_TIMEOUT", "600000", 10 * time.Minute, func(c *Config) time.Duration { return c.ReadyTimeout }},
		{"ready timeout go syntax", "GAMESERVER_READY_TIMEOUT", "7m30s", 7*time.Minute + 30*time.Second, func(c *Config) time.Duration { return c.ReadyTimeout }},
		{"half a minute in milliseconds", "GAMESERVER_READY_TIMEOUT", "30000", 30 * time.Second, func(c *Config) time.Duration { return c.ReadyTimeout }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, with(requiredEnv(), map[string]string{tc.variable: tc.value}))
			if got := tc.field(c); got != tc.want {
				t.Errorf("%s=%s gave %v, want %v", tc.variable, tc.value, got, tc.want)
			}
		})
	}
}

func TestMaxDurationWarning(t *testing.T) {
	for _, tc := range []struct {
		name            string
		maxDur, warning string
		want            time.Duration
	}{
		{"default", "", "", 10 * time.Minute},
		{"long server", "3h", "", 10 * time.Minute},
		{"just over 20m", "21m", "", 10 * time.Minute},
		{"20m halves", "20m", "", 10 * time.Minute},
		{"short server halves", "12m", "", 6 * time.Minute},
		{"short server in milliseconds halves", "60000", "", 30 * time.Second},
		{"set", "90m", "15m", 15 * time.Minute},
		{"set on a short server", "12m", "11m", 11 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, with(requiredEnv(), map[string]string{
				"GAMESERVER_MAX_DURATION":         tc.maxDur,
				"GAMESERVER_MAX_DURATION_WARNING": tc.warning,
			}))
			if c.MaxDurationWarning != tc.want {
				t.Errorf("MaxDurationWarning = %v, want %v", c.MaxDurationWarning, tc.want)
			}
		})
	}
}

// writeFile writes content to a new file under dir and returns its path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestLoadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	echoed := writeFile(t, dir, "echoed", testToken+"\n")
	bare := writeFile(t, dir, "bare", testToken)
	crlf := writeFile(t, dir, "crlf", testToken+"\r\n")
	empty := writeFile(t, dir, "empty", "\n")
	twoLines := writeFile(t, dir, "two-lines", testToken+"\n"+testToken+"\n")
	missing := filepath.Join(dir, "no-such-secret")
	keyID := writeFile(t, dir, "key-id", "AKIAEXAMPLEKEYID0001\n")
	secretKey := writeFile(t, dir, "secret-key", "LEAKED-AWS-SECRET-KEY-wJalrXUtnFEMI\n")
	session := writeFile(t, dir, "session", "LEAKED-AWS-SESSION-TOKEN-IQoJb3JpZ2lu\n")

	noToken := requiredEnv()
	delete(noToken, "DISCORD_TOKEN")

	t.Run("token file with trailing newline", func(t *testing.T) {
		c := mustLoad(t, with(noToken, map[string]string{"DISCORD_TOKEN_FILE": echoed}))
		equal(t, c.DiscordToken.Value(), testToken)
	})
	t.Run("token file without newline", func(t *testing.T) {
		c := mustLoad(t, with(noToken, map[string]string{"DISCORD_TOKEN_FILE": bare}))
		equal(t, c.DiscordToken.Value(), testToken)
	})
	t.Run("token file with CRLF", func(t *testing.T) {
		c := mustLoad(t, with(noToken, map[string]string{"DISCORD_TOKEN_FILE": crlf}))
		equal(t, c.DiscordToken.Value(), testToken)
	})
	t.Run("aws credentials from files", func(t *testing.T) {
		c := mustLoad(t, with(requiredEnv(), map[string]string{
			"AWS_ACCESS_KEY_ID_FILE":     keyID,
			"AWS_SECRET_ACCESS_KEY_FILE": secretKey,
			"AWS_SESSION_TOKEN_FILE":     session,
		}))
		equal(t, c.HasStaticAWSCredentials(), true)
		equal(t, c.AWSAccessKeyID.Value(), "AKIAEXAMPLEKEYID0001")
		equal(t, c.AWSSecretAccessKey.Value(), "LEAKED-AWS-SECRET-KEY-wJalrXUtnFEMI")
		equal(t, c.AWSSessionToken.Value(), "LEAKED-AWS-SESSION-TOKEN-IQoJb3JpZ2lu")
	})
	t.Run("aws secret key file with plain key id", func(t *testing.T) {
		c := mustLoad(t, with(requiredEnv(), map[string]string{
			"AWS_ACCESS_KEY_ID":          "AKIAEXAMPLEKEYID0002",
			"AWS_SECRET_ACCESS_KEY_FILE": secretKey,
		}))
		equal(t, c.AWSAccessKeyID.Value(), "AKIAEXAMPLEKEYID0002")
		equal(t, c.AWSSecretAccessKey.Value(), "LEAKED-AWS-SECRET-KEY-wJalrXUtnFEMI")
		equal(t, c.AWSSessionToken.Value(), "")
	})
	t.Run("plain aws credentials left to the sdk", func(t *testing.T) {
		c := mustLoad(t, with(requiredEnv(), map[string]string{
			"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLEKEYID0003",
			"AWS_SECRET_ACCESS_KEY": "LEAKED-AWS-SECRET-KEY-plain",
		}))
		equal(t, c.HasStaticAWSCredentials(), false)
		equal(t, c.AWSSecretAccessKey.Value(), "")
	})

	for _, tc := range []struct {
		name string
		env  map[string]string
		want string   // the variable named
		says []string // parts of the problem
	}{
		{"token and token file both set", with(requiredEnv(), map[string]string{"DISCORD_TOKEN_FILE": echoed}),
			"DISCORD_TOKEN", []string{"both DISCORD_TOKEN and DISCORD_TOKEN_FILE are set"}},
		{"token file unreadable", with(noToken, map[string]string{"DISCORD_TOKEN_FILE": missing}),
			"DISCORD_TOKEN_FILE", []string{"cannot read", missing, "no such file or directory"}},
		{"token file is a directory", with(noToken, map[string]string{"DISCORD_TOKEN_FILE": dir}),
			"DISCORD_TOKEN_FILE", []string{"cannot read", dir}},
		{"token file empty", with(noToken, map[string]string{"DISCORD_TOKEN_FILE": empty}),
			"DISCORD_TOKEN_FILE", []string{"is empty", empty}},
		{"token file two lines", with(noToken, map[string]string{"DISCORD_TOKEN_FILE": twoLines}),
			"DISCORD_TOKEN_FILE", []string{"single line", twoLines}},
		{"aws key id file without secret key", with(requiredEnv(), map[string]string{"AWS_ACCESS_KEY_ID_FILE": keyID}),
			"AWS_SECRET_ACCESS_KEY", []string{"required when AWS credentials are given as files", "AWS_SECRET_ACCESS_KEY_FILE"}},
		{"aws session token file alone", with(requiredEnv(), map[string]string{"AWS_SESSION_TOKEN_FILE": session}),
			"AWS_ACCESS_KEY_ID", []string{"required when AWS credentials are given as files"}},
		{"aws secret key both set", with(requiredEnv(), map[string]string{
			"AWS_ACCESS_KEY_ID_FILE": keyID, "AWS_SECRET_ACCESS_KEY_FILE": secretKey, "AWS_SECRET_ACCESS_KEY": "LEAKED-AWS-SECRET-KEY-plain",
		}), "AWS_SECRET_ACCESS_KEY", []string{"both AWS_SECRET_ACCESS_KEY and AWS_SECRET_ACCESS_KEY_FILE are set"}},
		{"aws secret key file unreadable", with(requiredEnv(), map[string]string{
			"AWS_ACCESS_KEY_ID_FILE": keyID, "AWS_SECRET_ACCESS_KEY_FILE": missing,
		}), "AWS_SECRET_ACCESS_KEY_FILE", []string{"cannot read", missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := loadErrors(t, tc.env)
			if errs[0].Var != tc.want {
				t.Errorf("first problem is with %s, want %s:\n%v", errs[0].Var, tc.want, errs)
			}
			msg := errs.Error()
			for _, s := range tc.says {
				if !strings.Contains(msg, s) {
					t.Errorf("error does not say %q:\n%s", s, msg)
				}
			}
			for _, secret := range []string{testToken, "LEAKED"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error shows a secret (%q):\n%s", secret, msg)
				}
			}
		})
	}
}

// TestLoadOriginalEnv loads a .env written for the original JavaScript bot,
// with its quoting, its millisecond durations and the variables it had that
// spawner no longer reads.
func TestLoadOriginalEnv(t *testing.T) {
	path := writeFile(t, t.TempDir(), ".env", `DISCORD_TOKEN="`+testToken+`"
DISCORD_CLIENT_ID="1100000000000000002"
DISCORD_GUILD_ID="1100000000000000001"
DISCORD_ADMIN_ROLE_ID="1100000000000000021"
DISCORD_USER_ROLE_ID="1100000000000000020"
DISCORD_GAMESERVER_CATEGORY_ID="1100000000000000010"
DISCORD_LOG_CHANNEL_ID="1100000000000000011"
DISCORD_BLOCK_OWNER_MENTION="true"
DISCORD_SERVER_OWNER_ID="1100000000000000030"
GAMESERVER_MAX_DURATION="5400000"
GAMESERVER_MIN_REQUIRED_PLAYERS="4"
GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT="3"
GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION="300000"
GAMESERVER_READY_TIMEOUT="600000"
GAMESERVER_MAX_SERVERS="5"
GAMESERVER_PORT="25565"
GAMESERVER_VERSION="1.19.4"
AWS_REGION="eu-west-3"
AWS_ACCESS_KEY_ID="AKIAEXAMPLEKEYID0004"
AWS_SECRET_ACCESS_KEY="LEAKED-AWS-SECRET-KEY-original"
AWS_DYNAMODB_TABLE_NAME="mineralcontest_tasks"
AWS_ECS_CLUSTER_NAME="mineralcontest-cluster"
ECS_TASK_DEFINITION="mineralcontest-server"
ECS_SUBNETS="subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788"
ECS_SECURITY_GROUPS="sg-0a1b2c3d4e5f60718"
DOCKER_IMAGE_NAME="mineralcontest"
`)
	env, err := godotenv.Read(path)
	if err != nil {
		t.Fatalf("godotenv.Read: %v", err)
	}
	got := mustLoad(t, env)

	want := defaults()
	want.LogChannelID = "1100000000000000011"
	want.MaxServers = 5
	want.MaxServersSet = true
	want.Version = "1.19.4"
	want.Cluster = "mineralcontest-cluster"
	want.TaskDefinition = "mineralcontest-server"
	want.Container = "mineralcontest"
	want.Subnets = []string{"subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"}
	want.SecurityGroups = []string{"sg-0a1b2c3d4e5f60718"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("original .env:\n got %+v\nwant %+v", got, want)
	}
}

func TestCatalog(t *testing.T) {
	c := mustLoad(t, with(requiredEnv(), map[string]string{
		"GAMESERVER_PORT":                 "25566",
		"GAMESERVER_VERSION":              "1.20.1",
		"GAMESERVER_MAX_DURATION":         "1h",
		"GAMESERVER_MAX_DURATION_WARNING": "5m",
		"GAMESERVER_MIN_REQUIRED_PLAYERS": "2",
	}))
	cat := c.Catalog()
	if len(cat) != 1 {
		t.Fatalf("Catalog has %d games, want 1", len(cat))
	}
	g, ok := cat.Lookup("")
	if !ok || g.Name != "minecraft" || g.Title != "Minecraft" {
		t.Fatalf("default game = %+v, %v; want minecraft", g, ok)
	}
	equal(t, g.TaskDefinition, "minecraft-server")
	equal(t, g.Container, "minecraft")
	equal(t, g.Port, 25566)
	equal(t, g.Version, "1.20.1")
	equal(t, g.MaxDuration, time.Hour)
	equal(t, g.MaxDurationWarning, 5*time.Minute)
	equal(t, g.MinPlayers, 2)
	equal(t, g.WarningCount, 3)
	equal(t, g.CheckInterval, 5*time.Minute)
	equal(t, g.ReadyTimeout, 10*time.Minute)
	if g.World != nil {
		t.Errorf("the default game keeps a world %+v; its servers are temporary, as the original bot's", g.World)
	}

	for _, tc := range []struct {
		variant string
		want    map[string]string
	}{
		{"", map[string]string{"ALLOW_NON_OFFICIAL": "false", "ONLINE_MODE": "TRUE", "OPREDEEM_TOKEN": "tok"}},
		{"official", map[string]string{"ALLOW_NON_OFFICIAL": "false", "ONLINE_MODE": "TRUE", "OPREDEEM_TOKEN": "tok"}},
		{"non_official", map[string]string{"ALLOW_NON_OFFICIAL": "true", "ONLINE_MODE": "FALSE", "OPREDEEM_TOKEN": "tok"}},
	} {
		t.Run("variant "+tc.variant, func(t *testing.T) {
			v, ok := g.Variant(tc.variant)
			if !ok {
				t.Fatalf("variant %q not found", tc.variant)
			}
			equal(t, g.Environment(v, "tok"), tc.want)
		})
	}
	if _, ok := g.Variant("modded"); ok {
		t.Error("unknown variant found")
	}
	equal(t, strings.ReplaceAll(g.AdminCommand, "{token}", "tok"), "/opredeem tok")

	// Each call is fresh: changing one catalog leaves the next alone.
	cat[0].Variants[0].Env["ONLINE_MODE"] = "changed"
	if c.Catalog()[0].Variants[0].Env["ONLINE_MODE"] != "TRUE" {
		t.Error("Catalog shares its maps between calls")
	}
}

// TestLoadLegacySecretKeyName: the original bot's .env named the secret key
// AWS_SECRET_ACCESS_KEY_ID; it becomes static credentials with
// AWS_ACCESS_KEY_ID, and never shows in errors or output.
func TestLoadLegacySecretKeyName(t *testing.T) {
	c := mustLoad(t, with(requiredEnv(), map[string]string{
		"AWS_ACCESS_KEY_ID":        "AKIAEXAMPLEKEYID0004",
		"AWS_SECRET_ACCESS_KEY_ID": "LEGACY-SECRET-KEY-VALUE-0001",
	}))
	if c.AWSAccessKeyID.Value() != "AKIAEXAMPLEKEYID0004" || c.AWSSecretAccessKey.Value() != "LEGACY-SECRET-KEY-VALUE-0001" {
		t.Fatalf("static credentials = %q / %q, want the key id and the legacy secret", c.AWSAccessKeyID.Value(), c.AWSSecretAccessKey.Value())
	}
	if s := fmt.Sprintf("%+v", c); strings.Contains(s, "LEGACY-SECRET") {
		t.Fatalf("secret printed: %s", s)
	}

	_, err := load(t, with(requiredEnv(), map[string]string{"AWS_SECRET_ACCESS_KEY_ID": "LEGACY-SECRET-KEY-VALUE-0001"}))
	if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") || strings.Contains(err.Error(), "LEGACY-SECRET") {
		t.Fatalf("without a key id: err = %v, want AWS_ACCESS_KEY_ID named and no secret", err)
	}
}
