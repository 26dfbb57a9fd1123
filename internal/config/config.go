// Package config reads the daemon's configuration from the environment and
// validates all of it before anything is dialled. The variables the
// original JavaScript bot had keep their names, so its .env loads
// unchanged.
//
// docs/configuration.md documents every variable: what it means, when it is
// required, its default. Its tests check that page and .env.example against
// what Load reads, so a variable added here without a row there fails them.
package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/cost"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/lifecycle/admission"
	"github.com/mineral-contest/spawner/internal/spawner"
)

// DefaultDiscordAPIURL is Discord's own API host, used when DISCORD_API_URL
// is not set.
const DefaultDiscordAPIURL = "https://discord.com"

// Config is the validated configuration. Load fills every field, defaults
// included; a Config built by hand (in tests) must do the same.
type Config struct {
	DiscordToken  Secret   // DISCORD_TOKEN or DISCORD_TOKEN_FILE
	GuildID       string   // DISCORD_GUILD_ID: the one guild the bot serves
	UserRoleIDs   []string // DISCORD_USER_ROLE_ID: comma list, at least one
	AdminRoleIDs  []string // DISCORD_ADMIN_ROLE_ID: comma list, at least one
	CategoryID    string   // DISCORD_GAMESERVER_CATEGORY_ID
	LogChannelID  string   // DISCORD_LOG_CHANNEL_ID; empty: no log channel
	DiscordAPIURL *url.URL // DISCORD_API_URL: http(s), no query or fragment, no trailing slash; default https://discord.com

	AWSRegion        string // AWS_REGION, else AWS_DEFAULT_REGION
	AWSEndpoint      string // AWS_ENDPOINT_URL, as given; empty: the SDK's own
	ECSEndpoint      string // AWS_ENDPOINT_URL_ECS, as given
	EC2Endpoint      string // AWS_ENDPOINT_URL_EC2, as given
	DynamoDBEndpoint string // AWS_ENDPOINT_URL_DYNAMODB, as given

	// Static AWS credentials, filled only when at least one of
	// AWS_ACCESS_KEY_ID_FILE, AWS_SECRET_ACCESS_KEY_FILE and
	// AWS_SESSION_TOKEN_FILE is given; each then comes from X_FILE or X,
	// and the key id and secret key are both present. When AWSAccessKeyID
	// is empty, the SDK's default credential chain applies (it reads the
	// plain AWS_ACCESS_KEY_ID, AWS_PROFILE, roles, ...).
	AWSAccessKeyID     Secret
	AWSSecretAccessKey Secret
	AWSSessionToken    Secret // may be empty even with static credentials

	Cluster          string   // AWS_ECS_CLUSTER_NAME: a cluster name or ARN
	TaskDefinition   string   // ECS_TASK_DEFINITION: a family name, no revision; its latest ACTIVE revision runs
	Container        string   // DOCKER_IMAGE_NAME: the container's name inside the task definition
	Subnets          []string // ECS_SUBNETS: subnet ids, 1 to 16
	SecurityGroups   []string // ECS_SECURITY_GROUPS: security group ids, 1 to 5
	AssignPublicIP   bool     // ECS_ASSIGN_PUBLIC_IP, default true
	CapacityProvider string   // ECS_CAPACITY_PROVIDER: "FARGATE" (default) or "FARGATE_SPOT"

	// Table is AWS_DYNAMODB_TABLE_NAME; empty: the embedded store in
	// DataDir holds the servers instead of DynamoDB.
	Table       string
	CreateTable bool // DYNAMODB_CREATE_TABLE, default false; needs Table

	Port               int           // GAMESERVER_PORT, default 25565
	Version            string        // GAMESERVER_VERSION, free text, may be empty
	MaxDuration        time.Duration // GAMESERVER_MAX_DURATION, default 90m
	MaxDurationWarning time.Duration // GAMESERVER_MAX_DURATION_WARNING: warning this long before MaxDuration; default 10m (MaxDuration/2 when MaxDuration <= 20m); always in (0, MaxDuration)
	MinPlayers         int           // GAMESERVER_MIN_REQUIRED_PLAYERS, default 4; 0 disables the player watchdog
	WarningCount       int           // GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT, default 3, >= 1
	CheckInterval      time.Duration // GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION, default 5m
	ReadyTimeout       time.Duration // GAMESERVER_READY_TIMEOUT, default 10m
	PollInterval       time.Duration // GAMESERVER_POLL_INTERVAL: polling of the booting tasks (one DescribeTasks for all, then a ping each); default 1s
	MaxServers         int           // GAMESERVER_MAX_SERVERS, default 10, >= 1
	// MaxServersSet is true when GAMESERVER_MAX_SERVERS was given: under
	// Docker, an unset cap is computed from the host's memory instead.
	MaxServersSet    bool
	TicketCloseDelay time.Duration // DISCORD_TICKET_CLOSE_DELAY: ticket kept this long after the stop; default 2m, may be 0

	HTTPAddr  string     // HTTP_ADDR: host:port for /healthz, /readyz, /metrics; empty: no HTTP server
	LogFormat string     // LOG_FORMAT: "text" (default) or "json"
	LogLevel  slog.Level // LOG_LEVEL: debug, info (default), warn or error

	// Task events, web pages and what members may do.

	SQSQueueURL     string        // AWS_SQS_EVENTS_QUEUE_URL: the queue of ECS task events to long-poll; empty: polling only (ECS runtime only)
	SQSEndpoint     string        // AWS_ENDPOINT_URL_SQS, as given
	PublicURL       string        // PUBLIC_URL: absolute http(s) URL, maybe with a path, no query or fragment, no trailing slash; empty: no web links posted
	WebSecret       Secret        // WEB_SECRET or WEB_SECRET_FILE: signs web links; at least 16 bytes; never empty after Load (see WebSecretRandom)
	WebSecretRandom bool          // WebSecret was not given: Load drew 32 random bytes, so links stop working at a restart
	ExtendDuration  time.Duration // GAMESERVER_EXTEND_DURATION: what one /server extend adds; default 30m
	MaxExtensions   int           // GAMESERVER_MAX_EXTENSIONS: extensions a member may add to one server (admins: no limit); default 2, may be 0
	CreateCooldown  time.Duration // GAMESERVER_CREATE_COOLDOWN: a member's wait between two creations (admins exempt); default 2m, 0 turns it off
	// Deployment is SPAWNER_DEPLOYMENT: the value of the spawner:deployment
	// tag (ECS) or label (Docker) on what this bot starts; the bot acts only
	// on its own and untagged tasks. Default: Table when set, else GuildID.
	Deployment string

	// Where servers run, and what one machine without AWS needs.

	Runtime          string    // SPAWNER_RUNTIME: RuntimeECS or RuntimeDocker; default ECS when AWS_ECS_CLUSTER_NAME is set, else Docker
	DataDir          string    // SPAWNER_DATA_DIR: folder of the embedded store, used when Table is empty; default ./data
	DockerHost       string    // DOCKER_HOST, as given; the Docker client reads it itself; empty: the local socket
	DockerPublicHost string    // DOCKER_PUBLIC_HOST: host name or IP players connect to; required with RuntimeDocker
	DockerPorts      PortRange // DOCKER_PORT_RANGE: host ports handed to servers; default 25565-25664
	GameImage        string    // GAMESERVER_IMAGE: image of the default game under Docker; default itzg/minecraft-server

	// Alerts outside Discord.

	AlertTopicARN string // ALERT_SNS_TOPIC_ARN: the SNS topic alerts are published to, in its own region; empty: none
	SNSEndpoint   string // AWS_ENDPOINT_URL_SNS, as given
	// AlertWebhookURL is ALERT_WEBHOOK_URL or ALERT_WEBHOOK_URL_FILE: the
	// https URL every alert is POSTed to as JSON. A secret: a chat
	// webhook's URL holds its token. Empty: none.
	AlertWebhookURL Secret

	// What the servers cost.

	// CostRates are the rates /server cost and the monthly report estimate
	// with: COST_RATES_FILE's table when it is set, else the repository's
	// (cost.DefaultRates).
	CostRates     cost.Rates
	CostRatesFile string // COST_RATES_FILE, as given; empty: the repository's table
	// HostMonthlyPrice is DOCKER_HOST_MONTHLY_PRICE: what the Docker host
	// costs a month, in the rates' currency, shared out among the Docker
	// servers by their hours; 0 (the default): not set, hours alone.
	HostMonthlyPrice float64

	// Worlds (world.go).

	// WorldBucket is WORLD_S3_BUCKET: the S3 bucket of the worlds' backups,
	// objects under worlds/; empty: SPAWNER_DATA_DIR/backups under Docker,
	// and no game with a world under ECS.
	WorldBucket      string
	S3Endpoint       string        // AWS_ENDPOINT_URL_S3, as given
	WorldBackupsKeep int           // WORLD_BACKUPS_KEEP: backups kept per world, newest first; 1 to 100, default 5
	WorldSleepMax    time.Duration // WORLD_SLEEP_MAX: how long an asleep world keeps its port after it was last played; 1h to 8760h, default 168h
}

// Runtimes: where game servers run (SPAWNER_RUNTIME).
const (
	RuntimeECS    = "ecs"    // AWS ECS Fargate
	RuntimeDocker = "docker" // containers in the host's Docker engine
)

// Defaults of variables, applied when they are unset.
const (
	DefaultDataDir        = "./data"
	DefaultGameImage      = "itzg/minecraft-server"
	DefaultExtendDuration = lifecycle.DefaultExtendDuration
	DefaultMaxExtensions  = lifecycle.DefaultMaxExtensions
	DefaultCreateCooldown = admission.DefaultCooldown
)

// DefaultDockerPorts is DOCKER_PORT_RANGE's default, 25565-25664.
var DefaultDockerPorts = PortRange{First: 25565, Last: 25664}

// MaxCategoryChannels is how many channels Discord lets a category hold;
// GAMESERVER_MAX_SERVERS may not exceed it, since every server has a
// ticket channel in the one category.
const MaxCategoryChannels = 50

// PortRange is an inclusive range of ports, First <= Last, both in 1..65535.
type PortRange struct{ First, Last int }

// Len is how many ports the range holds.
func (r PortRange) Len() int { return r.Last - r.First + 1 }

// Contains reports whether port is in the range.
func (r PortRange) Contains(port int) bool { return port >= r.First && port <= r.Last }

// String returns "first-last", as DOCKER_PORT_RANGE is written.
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// EmbeddedStore reports whether servers are kept in the embedded store in
// DataDir rather than in a DynamoDB table.
func (c *Config) EmbeddedStore() bool { return c.Table == "" }

// HasStaticAWSCredentials reports whether the AWS credentials were given
// through files (see AWSAccessKeyID) rather than left to the SDK's chain.
func (c *Config) HasStaticAWSCredentials() bool { return !c.AWSAccessKeyID.IsZero() }

// Catalog returns the games offered: the default Minecraft game built from
// the configuration, with its "official" and "non_official" variants.
// Every call returns fresh maps the caller may change.
//
// Under the Docker runtime the game runs GAMESERVER_IMAGE and is probed
// with Server List Ping.
func (c *Config) Catalog() spawner.Catalog {
	g := spawner.Game{ //nolint:gosec // G101: TokenEnv is the name of the variable the game reads its token from, not a token
		Name:           "minecraft",
		Title:          "Minecraft",
		TaskDefinition: c.TaskDefinition,
		Container:      c.Container,
		Port:           c.Port,
		Version:        c.Version,
		Env:            map[string]string{},
		TokenEnv:       "OPREDEEM_TOKEN",
		AdminCommand:   "/opredeem {token}",
		Variants: []spawner.Variant{
			{Name: "official", Env: map[string]string{"ALLOW_NON_OFFICIAL": "false", "ONLINE_MODE": "TRUE"}},
			{Name: "non_official", Env: map[string]string{"ALLOW_NON_OFFICIAL": "true", "ONLINE_MODE": "FALSE"}},
		},
		DefaultVariant:     "official",
		MinPlayers:         c.MinPlayers,
		WarningCount:       c.WarningCount,
		CheckInterval:      c.CheckInterval,
		MaxDuration:        c.MaxDuration,
		MaxDurationWarning: c.MaxDurationWarning,
		ReadyTimeout:       c.ReadyTimeout,
		ExtendDuration:     c.ExtendDuration,
	}
	if c.Runtime == RuntimeDocker {
		g.Image = c.GameImage
		g.Protocol = spawner.ProtocolMinecraft
	}
	return spawner.Catalog{g}
}

// Load reads and validates every variable through getenv (os.Getenv in
// production, a map in tests) and readFile (os.ReadFile) for the X_FILE
// forms of secrets. Values are trimmed of surrounding whitespace; unknown
// variables are ignored.
//
// It reports every problem at once: the error is an Errors value, one
// *FieldError per variable in a stable order, each naming the variable,
// what is wrong and what is expected, never the value of a secret. On error
// the Config is nil.
func Load(getenv func(string) string, readFile func(string) ([]byte, error)) (*Config, error) {
	return LoadWithin(getenv, readFile, spawner.DefaultLimits())
}

// LoadWithin is Load with lim as the bounds of the durations and counts
// (Load's are spawner.DefaultLimits).
func LoadWithin(getenv func(string) string, readFile func(string) ([]byte, error), lim spawner.Limits) (*Config, error) {
	l := &loader{getenv: getenv, readFile: readFile, read: make(map[string]bool), lim: lim}
	c := &Config{}

	// Where servers run decides what else is required.
	c.Runtime = l.runtime("SPAWNER_RUNTIME")
	ecs := c.Runtime == RuntimeECS
	usesAWS := ecs || l.get("AWS_DYNAMODB_TABLE_NAME") != "" || l.get("AWS_SQS_EVENTS_QUEUE_URL") != "" || l.get("WORLD_S3_BUCKET") != ""

	// The steps read the variables in a fixed order, which is the order
	// their problems are reported in.
	l.loadDiscord(c)
	l.loadAWS(c, ecs, usesAWS)
	l.loadGame(c)
	l.loadDaemon(c)
	l.loadEventsAndPages(c, ecs)
	l.loadMemberLimits(c)
	c.Deployment = l.deployment("SPAWNER_DEPLOYMENT", c.Table, c.GuildID)
	l.loadOneMachine(c)
	l.loadAlerts(c)
	l.loadCost(c, ecs)
	l.loadWorlds(c)

	l.misplacedSecrets(l.secretValues(c))
	if len(l.errs) > 0 {
		l.redactSecrets(c)
		return nil, l.errs
	}
	return c, nil
}

// loadDiscord reads the bot's token, the ids of the guild, its roles and
// channels, and Discord's address.
func (l *loader) loadDiscord(c *Config) {
	c.DiscordToken = l.secret("DISCORD_TOKEN")
	if c.DiscordToken.IsZero() && !l.given("DISCORD_TOKEN") {
		l.missing("DISCORD_TOKEN", "the bot's token (Discord developer portal → your application → Bot → Reset Token), or its file's path in DISCORD_TOKEN_FILE")
	}
	c.GuildID = l.id("DISCORD_GUILD_ID", "the id of the Discord server the bot serves (developer mode on, right-click the server icon → Copy Server ID)")
	c.UserRoleIDs = l.ids("DISCORD_USER_ROLE_ID", "the id of the role allowed to ask for servers (Server Settings → Roles → … → Copy Role ID), or the guild's id for every member; several may be separated by commas")
	c.AdminRoleIDs = l.ids("DISCORD_ADMIN_ROLE_ID", "the id of the admin role (Server Settings → Roles → … → Copy Role ID); several may be separated by commas")
	c.CategoryID = l.id("DISCORD_GAMESERVER_CATEGORY_ID", "the id of the category ticket channels go under (right-click the category → Copy Channel ID)")
	c.LogChannelID = l.id("DISCORD_LOG_CHANNEL_ID", "")
	c.DiscordAPIURL = l.discordURL("DISCORD_API_URL")
}

// loadAWS reads the region, the credentials and endpoints, the cluster and
// its tasks' settings, and the table. The region is required when anything
// uses AWS; the cluster and its tasks' settings with the ECS runtime.
func (l *loader) loadAWS(c *Config, ecs, usesAWS bool) {
	c.AWSRegion = l.region(usesAWS)
	c.AWSAccessKeyID, c.AWSSecretAccessKey, c.AWSSessionToken = l.awsCredentials()
	c.AWSEndpoint = l.endpoint("AWS_ENDPOINT_URL")
	c.ECSEndpoint = l.endpoint("AWS_ENDPOINT_URL_ECS")
	c.EC2Endpoint = l.endpoint("AWS_ENDPOINT_URL_EC2")
	c.DynamoDBEndpoint = l.endpoint("AWS_ENDPOINT_URL_DYNAMODB")
	c.Cluster = l.cluster("AWS_ECS_CLUSTER_NAME", ecs)
	c.TaskDefinition = l.taskDefinition("ECS_TASK_DEFINITION", ecs)
	c.Container = l.container("DOCKER_IMAGE_NAME", ecs)
	c.Subnets = l.awsIDs("ECS_SUBNETS", "subnet", "subnet-0123456789abcdef0", 16, ecs,
		"the subnets the tasks run in (VPC console → Subnets), separated by commas")
	c.SecurityGroups = l.awsIDs("ECS_SECURITY_GROUPS", "sg", "sg-0123456789abcdef0", 5, ecs,
		"the security groups of the tasks (VPC console → Security groups), separated by commas; one must let players in on the game port")
	c.AssignPublicIP = l.boolean("ECS_ASSIGN_PUBLIC_IP", true)
	c.CapacityProvider = l.capacityProvider("ECS_CAPACITY_PROVIDER")
	c.CreateTable = l.boolean("DYNAMODB_CREATE_TABLE", false)
	c.Table = l.table("AWS_DYNAMODB_TABLE_NAME", c.CreateTable)
}

// loadGame reads the default game, its watchdogs and the timings of a
// server's life, within the loader's bounds.
func (l *loader) loadGame(c *Config) {
	lim := l.lim
	c.Port = l.integer("GAMESERVER_PORT", 25565, 1, 65535)
	c.Version = l.get("GAMESERVER_VERSION")
	maxDur, maxOK := l.duration("GAMESERVER_MAX_DURATION", 90*time.Minute, legacyMS, lim.MaxDuration)
	c.MaxDuration = maxDur
	c.MinPlayers = l.integer("GAMESERVER_MIN_REQUIRED_PLAYERS", 4, lim.MinPlayers.Min, lim.MinPlayers.Max)
	c.WarningCount = l.integer("GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_COUNT", 3, lim.Warnings.Min, lim.Warnings.Max)
	c.CheckInterval, _ = l.duration("GAMESERVER_MIN_REQUIRED_PLAYERS_WARNING_DURATION", 5*time.Minute, legacyMS, lim.CheckInterval)
	c.ReadyTimeout, _ = l.duration("GAMESERVER_READY_TIMEOUT", 10*time.Minute, legacyMS, lim.ReadyTimeout)
	c.MaxServers = l.maxServers("GAMESERVER_MAX_SERVERS")
	c.MaxServersSet = l.get("GAMESERVER_MAX_SERVERS") != ""
	c.MaxDurationWarning = l.maxDurationWarning("GAMESERVER_MAX_DURATION_WARNING", maxDur, maxOK)
	c.PollInterval, _ = l.duration("GAMESERVER_POLL_INTERVAL", lifecycle.DefaultPollInterval, withUnit, lim.PollInterval)
	c.TicketCloseDelay, _ = l.duration("DISCORD_TICKET_CLOSE_DELAY", 2*time.Minute, withUnit, lim.TicketCloseDelay)
}

// loadDaemon reads the daemon's own HTTP server and logs.
func (l *loader) loadDaemon(c *Config) {
	c.HTTPAddr = l.httpAddr("HTTP_ADDR")
	c.LogFormat = l.oneOf("LOG_FORMAT", "text", "text", "json")
	c.LogLevel = l.logLevel("LOG_LEVEL")
}

// loadEventsAndPages reads the queue of ECS task events (ECS runtime only)
// and the web pages' address and secret.
func (l *loader) loadEventsAndPages(c *Config, ecs bool) {
	c.SQSQueueURL = l.queueURL("AWS_SQS_EVENTS_QUEUE_URL", ecs)
	c.SQSEndpoint = l.endpoint("AWS_ENDPOINT_URL_SQS")
	c.PublicURL = l.publicURL("PUBLIC_URL")
	c.WebSecret, c.WebSecretRandom = l.webSecret("WEB_SECRET")
}

// loadMemberLimits reads how long one extension lasts, how many a member
// may add, and a member's wait between two creations.
func (l *loader) loadMemberLimits(c *Config) {
	lim := l.lim
	c.ExtendDuration, _ = l.duration("GAMESERVER_EXTEND_DURATION", DefaultExtendDuration, withUnit, lim.ExtendDuration)
	c.MaxExtensions = l.integer("GAMESERVER_MAX_EXTENSIONS", DefaultMaxExtensions, lim.MaxExtensions.Min, lim.MaxExtensions.Max)
	c.CreateCooldown, _ = l.duration("GAMESERVER_CREATE_COOLDOWN", DefaultCreateCooldown, withUnit, lim.CreateCooldown)
}

// loadOneMachine reads what a deployment without AWS needs: the embedded
// store's folder, and the Docker engine, public host, ports and image.
func (l *loader) loadOneMachine(c *Config) {
	c.DataDir = l.dataDir("SPAWNER_DATA_DIR")
	c.DockerHost = l.get("DOCKER_HOST")
	c.DockerPublicHost = l.publicHost("DOCKER_PUBLIC_HOST", c.Runtime == RuntimeDocker)
	c.DockerPorts = l.portRange("DOCKER_PORT_RANGE")
	c.GameImage = l.image("GAMESERVER_IMAGE")
}

// loadAlerts reads where alerts go outside Discord.
func (l *loader) loadAlerts(c *Config) {
	c.AlertTopicARN = l.topicARN("ALERT_SNS_TOPIC_ARN")
	c.SNSEndpoint = l.endpoint("AWS_ENDPOINT_URL_SNS")
	c.AlertWebhookURL = l.webhookURL("ALERT_WEBHOOK_URL")
}

// secretValues maps each secret's variable to its value: as loaded, or as
// the AWS SDK will read it for those it reads itself.
func (l *loader) secretValues(c *Config) map[string]Secret {
	secrets := map[string]Secret{
		"DISCORD_TOKEN": c.DiscordToken, "AWS_ACCESS_KEY_ID": c.AWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY": c.AWSSecretAccessKey, "AWS_SESSION_TOKEN": c.AWSSessionToken,
		"ALERT_WEBHOOK_URL": c.AlertWebhookURL,
	}
	if !c.WebSecretRandom {
		secrets["WEB_SECRET"] = c.WebSecret
	}
	for _, name := range secretVars {
		if raw := NewSecret(l.get(name)); secrets[name].IsZero() && !raw.IsZero() {
			secrets[name] = raw
		}
	}
	return secrets
}

// redactSecrets removes every secret's value from the problems.
func (l *loader) redactSecrets(c *Config) {
	l.redact(c.DiscordToken, c.AWSAccessKeyID, c.AWSSecretAccessKey, c.AWSSessionToken, c.WebSecret, c.AlertWebhookURL)
	// Secrets the SDK reads itself, or that failed to load, are
	// redacted from their raw values too: a secret pasted into another
	// variable must never be echoed.
	for _, name := range secretVars {
		l.redact(NewSecret(l.get(name)))
	}
}

// secretVars are every variable whose value is a secret.
var secretVars = []string{
	"DISCORD_TOKEN", "WEB_SECRET",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", legacySecretKey, "AWS_SESSION_TOKEN",
	"ALERT_WEBHOOK_URL",
}

// loader reads variables and collects every problem.
type loader struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	errs     Errors
	read     map[string]bool // every variable read, for misplacedSecrets
	lim      spawner.Limits  // bounds of the durations and counts
}

func (l *loader) get(name string) string {
	l.read[name] = true
	return strings.TrimSpace(l.getenv(name))
}

// failf records a problem with name, keeping only the first one per variable.
func (l *loader) failf(name, format string, args ...any) {
	for _, e := range l.errs {
		if e.Var == name {
			return
		}
	}
	l.errs = append(l.errs, &FieldError{Var: name, Problem: fmt.Sprintf(format, args...)})
}

func (l *loader) missing(name, what string) {
	l.failf(name, "required, not set: %s", what)
}

// redact removes from every problem any secret's value that found its way
// into another variable (a token pasted in the wrong place).
func (l *loader) redact(secrets ...Secret) {
	for _, s := range secrets {
		if len(s.Value()) < 8 {
			continue
		}
		quoted := strconv.Quote(s.Value())
		quoted = quoted[1 : len(quoted)-1] // as quote shows it inside a value
		for _, e := range l.errs {
			e.Problem = strings.ReplaceAll(e.Problem, s.Value(), redacted)
			e.Problem = strings.ReplaceAll(e.Problem, quoted, redacted)
		}
	}
}

// quote shows a refused value. Load's last step removes any secret from it.
func quote(v string) string { return strconv.Quote(v) }

// given reports whether a secret was given as name or name_FILE, even if
// it could not be read: a problem is then already told about name_FILE.
func (l *loader) given(name string) bool {
	return l.get(name) != "" || l.get(name+"_FILE") != ""
}

// secret reads name or name_FILE. An empty result means not given.
func (l *loader) secret(name string) Secret {
	fileVar := name + "_FILE"
	plain, path := l.get(name), l.get(fileVar)
	switch {
	case plain != "" && path != "":
		l.failf(name, "both %s and %s are set; set only one", name, fileVar)
		return Secret{}
	case plain != "":
		if strings.ContainsAny(plain, "\r\n") {
			l.failf(name, "must be a single line")
			return Secret{}
		}
		return NewSecret(plain)
	case path != "":
		b, err := l.readFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			l.failf(fileVar, "cannot read %s: %v", quote(path), err)
			return Secret{}
		}
		v := strings.TrimSuffix(string(b), "\n")
		v = strings.TrimSuffix(v, "\r")
		if v == "" {
			l.failf(fileVar, "file %s is empty; it must hold the value of %s", quote(path), name)
			return Secret{}
		}
		if strings.ContainsAny(v, "\r\n") {
			l.failf(fileVar, "file %s must hold the value of %s on a single line", quote(path), name)
			return Secret{}
		}
		return NewSecret(v)
	}
	return Secret{}
}

// awsCredentials reads the static credentials when any of their file forms
// is given, and leaves them to the SDK otherwise.
func (l *loader) awsCredentials() (id, key, token Secret) {
	// The original bot's .env spelled the secret key AWS_SECRET_ACCESS_KEY_ID,
	// which the SDK does not know: take it, with the plain key id, as
	// static credentials so that file keeps working.
	if legacy := l.get(legacySecretKey); legacy != "" && l.get("AWS_SECRET_ACCESS_KEY") == "" && l.get("AWS_SECRET_ACCESS_KEY_FILE") == "" {
		id = l.secret("AWS_ACCESS_KEY_ID")
		if id.IsZero() {
			l.failf("AWS_ACCESS_KEY_ID", "required with %s (the original bot's name for AWS_SECRET_ACCESS_KEY)", legacySecretKey)
		}
		return id, NewSecret(legacy), l.secret("AWS_SESSION_TOKEN")
	}
	if l.get("AWS_ACCESS_KEY_ID_FILE") == "" && l.get("AWS_SECRET_ACCESS_KEY_FILE") == "" && l.get("AWS_SESSION_TOKEN_FILE") == "" {
		return Secret{}, Secret{}, Secret{}
	}
	id = l.secret("AWS_ACCESS_KEY_ID")
	key = l.secret("AWS_SECRET_ACCESS_KEY")
	token = l.secret("AWS_SESSION_TOKEN")
	const why = "required when AWS credentials are given as files (AWS_*_FILE): set %s or %s_FILE"
	if id.IsZero() && !l.given("AWS_ACCESS_KEY_ID") {
		l.failf("AWS_ACCESS_KEY_ID", why, "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID")
	}
	if key.IsZero() && !l.given("AWS_SECRET_ACCESS_KEY") {
		l.failf("AWS_SECRET_ACCESS_KEY", why, "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY")
	}
	return id, key, token
}

// legacySecretKey is the original bot's name for AWS_SECRET_ACCESS_KEY.
const legacySecretKey = "AWS_SECRET_ACCESS_KEY_ID" //nolint:gosec // G101: a variable's name, not a secret

const idExpected = "a Discord id (17 to 20 digits; with developer mode on, right-click → Copy ID)"

func isSnowflake(v string) bool {
	if !isSnowflakeSyntax(v) {
		return false
	}
	_, err := strconv.ParseUint(v, 10, 64)
	return err == nil
}

// id reads one Discord id; what is empty for an optional one.
func (l *loader) id(name, what string) string {
	return l.checked(name, l.get(name), what != "", what, isSnowflake, "must be "+idExpected+", got %s")
}

// checked is v, the value of name, when valid accepts it. An empty v is
// returned as it is, and reported missing (what says what to set) when
// required. A value valid refuses is reported with refusal, a format whose
// one verb is the value, and checked is "".
func (l *loader) checked(name, v string, required bool, what string, valid func(string) bool, refusal string) string {
	switch {
	case v == "" && required:
		l.missing(name, what)
	case v == "":
	case !valid(v):
		l.failf(name, refusal, quote(v))
		return ""
	}
	return v
}

// list splits a comma list, dropping blanks and repeats.
func list(v string) []string {
	var items []string
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item != "" && !slices.Contains(items, item) {
			items = append(items, item)
		}
	}
	return items
}

func quoteAll(vs []string) string {
	qs := make([]string, len(vs))
	for i, v := range vs {
		qs[i] = quote(v)
	}
	return strings.Join(qs, ", ")
}

// ids reads a required comma list of Discord ids.
func (l *loader) ids(name, what string) []string {
	return l.idList(name, true, what, isSnowflake, idExpected)
}

// idList reads a comma list of ids, each of which valid accepts; expected
// says what an item must be. An empty list is nil, and reported missing
// (what says what to set) when required.
func (l *loader) idList(name string, required bool, what string, valid func(string) bool, expected string) []string {
	items := list(l.get(name))
	if len(items) == 0 {
		if required {
			l.missing(name, what)
		}
		return nil
	}
	if bad := slices.DeleteFunc(slices.Clone(items), valid); len(bad) > 0 {
		l.failf(name, "each item must be %s, got %s", expected, quoteAll(bad))
		return nil
	}
	return items
}

// checkURL says what is wrong with an endpoint URL, or "" when it is fine.
// It never repeats a URL carrying credentials.
func checkURL(v, example string) string {
	expected := "must be an http or https URL like " + example
	u, err := url.Parse(v)
	switch {
	case err != nil:
		if strings.Contains(v, "@") {
			return expected
		}
		return expected + ", got " + quote(v)
	case u.User != nil:
		return expected + " without user or password in it"
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.Opaque != "":
		return expected + ", got " + quote(v)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "must have no query (?) or fragment (#), got " + quote(v)
	}
	return ""
}

func (l *loader) discordURL(name string) *url.URL {
	v := l.get(name)
	if v == "" {
		v = DefaultDiscordAPIURL
	}
	if v = l.url(name, v, DefaultDiscordAPIURL); v == "" {
		return nil
	}
	u, _ := url.Parse(v)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u
}

func (l *loader) endpoint(name string) string {
	return l.url(name, l.get(name), "http://127.0.0.1:4566")
}

// url is v, the value of name, when it is an http(s) URL; otherwise the
// problem is reported with example as a model and url is "". An empty v
// is "" with no problem.
func (l *loader) url(name, v, example string) string {
	if v == "" {
		return ""
	}
	if problem := checkURL(v, example); problem != "" {
		l.failf(name, "%s", problem)
		return ""
	}
	return v
}

func (l *loader) region(required bool) string {
	name, v := "AWS_REGION", l.get("AWS_REGION")
	if v == "" {
		if d := l.get("AWS_DEFAULT_REGION"); d != "" {
			name, v = "AWS_DEFAULT_REGION", d
		}
	}
	return l.checked(name, v, required, "the AWS region of the cluster and the table, like eu-west-3 (AWS_DEFAULT_REGION is read too)",
		isRegion, "must be an AWS region like eu-west-3, got %s")
}

func (l *loader) cluster(name string, required bool) string {
	return l.checked(name, l.get(name), required, "the name of the ECS cluster the servers run in (ECS console → Clusters)",
		isClusterName,
		"must be an ECS cluster name (letters, digits, - and _) or ARN, got %s")
}

func (l *loader) taskDefinition(name string, required bool) string {
	v := l.get(name)
	const expected = "must be a task definition family name (letters, digits, - and _) without revision or ARN: the latest ACTIVE revision of the family is used"
	switch {
	case v == "" && !required:
	case v == "":
		l.missing(name, "the family name of the game's task definition (ECS console → Task definitions); its latest ACTIVE revision is used")
	case spawner.IsECSName(v):
		return v
	case isTaskDefinitionARN(v):
		family, _ := taskDefinitionARNFamily(v)
		l.failf(name, "%s; use %s instead of %s", expected, quote(family), quote(v))
	case strings.Count(v, ":") == 1 && spawner.IsECSName(v[:strings.IndexByte(v, ':')]):
		l.failf(name, "%s; use %s instead of %s", expected, quote(v[:strings.IndexByte(v, ':')]), quote(v))
	default:
		l.failf(name, "%s, got %s", expected, quote(v))
	}
	return ""
}

func (l *loader) container(name string, required bool) string {
	return l.checked(name, l.get(name), required, "the name of the game's container inside the task definition (not the image)",
		spawner.IsECSName, "must be the name of the container inside the task definition (letters, digits, - and _), not an image reference; got %s")
}

// awsIDs reads a comma list of ids like prefix-0123abcd, at most limit.
func (l *loader) awsIDs(name, prefix, example string, limit int, required bool, what string) []string {
	items := l.idList(name, required, what, awsID(prefix), "an id like "+example)
	if len(items) > limit {
		l.failf(name, "at most %d ids are allowed by ECS, got %d", limit, len(items))
		return nil
	}
	return items
}

func (l *loader) boolean(name string, def bool) bool {
	v := l.get(name)
	switch strings.ToLower(v) {
	case "":
		return def
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	l.failf(name, "must be true or false (1/0 and yes/no work too), got %s", quote(v))
	return def
}

func (l *loader) capacityProvider(name string) string {
	v := strings.ToUpper(l.get(name))
	switch v {
	case "":
		return "FARGATE"
	case "FARGATE", "FARGATE_SPOT":
		return v
	}
	l.failf(name, "must be FARGATE or FARGATE_SPOT, got %s", quote(l.get(name)))
	return ""
}

// table reads the DynamoDB table's name; empty means the embedded store,
// unless the table is to be created.
func (l *loader) table(name string, create bool) string {
	v := l.get(name)
	if v == "" && create {
		l.failf(name, "required with DYNAMODB_CREATE_TABLE=true: the name of the DynamoDB table to create (or unset DYNAMODB_CREATE_TABLE to keep servers in the embedded store in SPAWNER_DATA_DIR)")
		return ""
	}
	return l.checked(name, v, false, "", isTableName, "must be a DynamoDB table name (3 to 255 letters, digits, _ . and -), got %s")
}

func (l *loader) integer(name string, def, floor, ceiling int) int {
	v := l.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n < floor || n > ceiling:
		if ceiling == math.MaxInt32 {
			l.failf(name, "must be a whole number of at least %d, got %s", floor, quote(v))
		} else {
			l.failf(name, "must be a whole number from %d to %d, got %s", floor, ceiling, quote(v))
		}
		return def
	}
	return n
}

// Whether a bare integer is a number of milliseconds (the original bot's
// variables) or refused for want of a unit (ours).
const (
	legacyMS = true
	withUnit = false
)

// duration reads a duration within in, def when unset. ok is false when
// the variable was malformed or out of bounds.
func (l *loader) duration(name string, def time.Duration, bareMS bool, in spawner.Range[time.Duration]) (d time.Duration, ok bool) {
	v := l.get(name)
	if v == "" {
		return def, true
	}
	forms := "a duration with a unit like 10m, 1h30m or 250ms"
	if bareMS {
		forms = "a duration like 90m, 1h30m or 250ms, or a whole number of milliseconds like 5400000"
	}
	d, err := time.ParseDuration(v)
	if err != nil && bareMS {
		if n, nerr := strconv.ParseInt(v, 10, 64); nerr == nil && n <= math.MaxInt64/int64(time.Millisecond) && n >= math.MinInt64/int64(time.Millisecond) {
			d, err = time.Duration(n)*time.Millisecond, nil
		}
	}
	if err != nil {
		l.failf(name, "must be %s, got %s", forms, quote(v))
		return def, false
	}
	given := v
	if _, bare := strconv.ParseInt(v, 10, 64); bare == nil {
		given += " (" + spawner.FormatDuration(d) + ")" // milliseconds, or 0
	}
	if problem := in.Check(d, given); problem != "" {
		l.failf(name, "%s", problem)
		return def, false
	}
	return d, true
}

// maxDurationWarning reads GAMESERVER_MAX_DURATION_WARNING, which must fall
// inside a valid maxDur.
func (l *loader) maxDurationWarning(name string, maxDur time.Duration, maxOK bool) time.Duration {
	if l.get(name) == "" {
		if maxDur <= 20*time.Minute {
			return maxDur / 2
		}
		return 10 * time.Minute
	}
	d, ok := l.duration(name, 0, withUnit, l.lim.MaxDurationWarning)
	if ok && maxOK && d >= maxDur {
		l.failf(name, "must be shorter than GAMESERVER_MAX_DURATION (%v), got %s", maxDur, quote(l.get(name)))
	}
	return d
}

func (l *loader) httpAddr(name string) string {
	v := l.get(name)
	if v == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		l.failf(name, "must be host:port like 127.0.0.1:9090 or :9090 (empty: no HTTP server), got %s", quote(v))
		return ""
	}
	return v
}

func (l *loader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(l.get(name))
	if v == "" {
		return def
	}
	if slices.Contains(allowed, v) {
		return v
	}
	l.failf(name, "must be one of %s, got %s", strings.Join(allowed, ", "), quote(l.get(name)))
	return def
}

func (l *loader) logLevel(name string) slog.Level {
	levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
	return levels[l.oneOf(name, "info", "debug", "info", "warn", "error")]
}

func (l *loader) runtime(name string) string {
	v := strings.ToLower(l.get(name))
	switch v {
	case "":
		if l.get("AWS_ECS_CLUSTER_NAME") != "" {
			return RuntimeECS
		}
		return RuntimeDocker
	case RuntimeECS, RuntimeDocker:
		return v
	}
	l.failf(name, "must be ecs (AWS ECS Fargate) or docker (the host's Docker engine), got %s", quote(l.get(name)))
	return ""
}

// maxServers reads GAMESERVER_MAX_SERVERS, which the category must be able
// to hold.
func (l *loader) maxServers(name string) int {
	v := l.get(name)
	if n, err := strconv.Atoi(v); err == nil && n > MaxCategoryChannels {
		l.failf(name, "must be at most %d, got %s: every server has a ticket channel in DISCORD_GAMESERVER_CATEGORY_ID, a Discord category holds at most %d channels, and the tickets of ended servers keep their slot for DISCORD_TICKET_CLOSE_DELAY",
			MaxCategoryChannels, quote(v), MaxCategoryChannels)
		return 10
	}
	return l.integer(name, 10, 1, math.MaxInt32)
}

func (l *loader) queueURL(name string, ecs bool) string {
	v := l.get(name)
	switch {
	case v == "":
		return ""
	case !ecs:
		l.failf(name, "is for ECS task events and needs SPAWNER_RUNTIME=ecs; the docker runtime follows the engine's own events: unset it")
		return ""
	}
	return l.url(name, v, "https://sqs.eu-west-3.amazonaws.com/123456789012/spawner-events")
}

func (l *loader) publicURL(name string) string {
	v := strings.TrimRight(l.url(name, l.get(name), "https://spawner.example.org"), "/")
	if u, err := url.Parse(v); err == nil && !isPublicPath(u.EscapedPath()) {
		l.failf(name, "its path must be made of letters, digits and - . _ ~ like https://example.org/spawner, got %s", quote(u.EscapedPath()))
		return ""
	}
	return v
}

// minWebSecret is the shortest WEB_SECRET accepted, in bytes.
const minWebSecret = 16

// webSecret reads WEB_SECRET or WEB_SECRET_FILE, or draws 32 random bytes.
func (l *loader) webSecret(name string) (s Secret, random bool) {
	s = l.secret(name)
	switch {
	case !s.IsZero() && len(s.Value()) < minWebSecret:
		l.failf(name, "must be at least %d characters long (for example: openssl rand -hex 32)", minWebSecret)
		return Secret{}, false
	case !s.IsZero() || l.given(name):
		return s, false
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return NewSecret(string(b)), true
}

func (l *loader) deployment(name, table, guild string) string {
	v := l.get(name)
	switch {
	case v == "" && table != "":
		return table
	case v == "":
		return guild
	case !isDeployment(v):
		l.failf(name, "must be 1 to 128 letters, digits and _ . : / = + @ - (it becomes a task tag and a container label), got %s", quote(v))
		return ""
	}
	return v
}

func (l *loader) dataDir(name string) string {
	v := l.get(name)
	switch {
	case v == "":
		return DefaultDataDir
	case strings.ContainsRune(v, 0):
		l.failf(name, "must be a folder path")
		return ""
	}
	return v
}

func (l *loader) publicHost(name string, required bool) string {
	return l.checked(name, l.get(name), required, "the host name or IP address players connect to (this machine's public address), like play.example.org or 203.0.113.7",
		isHost, "must be a host name or IP address without scheme or port, like play.example.org or 203.0.113.7, got %s")
}

// isHost reports whether v is an IP address or a host name.
func isHost(v string) bool {
	return net.ParseIP(v) != nil || (len(v) <= 253 && isHostName(v))
}

func (l *loader) portRange(name string) PortRange {
	v := l.get(name)
	if v == "" {
		return DefaultDockerPorts
	}
	first, last, found := strings.Cut(v, "-")
	if !found {
		last = first
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(first))
	hi, err2 := strconv.Atoi(strings.TrimSpace(last))
	switch {
	case err1 != nil || err2 != nil || lo < 1 || hi > 65535:
		l.failf(name, "must be a range of ports from 1 to 65535 like 25565-25664, got %s", quote(v))
	case lo > hi:
		l.failf(name, "must go from the lower port to the higher, like 25565-25664, got %s", quote(v))
	default:
		return PortRange{First: lo, Last: hi}
	}
	return DefaultDockerPorts
}

func (l *loader) image(name string) string {
	v := l.get(name)
	switch {
	case v == "":
		return DefaultGameImage
	case len(v) > 255 || !isImage(v):
		l.failf(name, "must be a Docker image reference like itzg/minecraft-server or itzg/minecraft-server:java21, got %s", quote(v))
		return ""
	}
	return v
}

// AlertTopicRegion is the region of ALERT_SNS_TOPIC_ARN, where it is
// published to; empty without a topic.
func (c *Config) AlertTopicRegion() string {
	parts := strings.Split(c.AlertTopicARN, ":")
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

func (l *loader) topicARN(name string) string {
	v := l.get(name)
	if v != "" && !isTopicARN(v) {
		l.failf(name, "must be the ARN of an SNS topic, like arn:aws:sns:eu-west-3:123456789012:spawner-alerts (SNS console → Topics), got %s", quote(v))
		return ""
	}
	return v
}

// webhookURL reads the alerts' webhook, a secret: what is wrong with it is
// told without its value.
func (l *loader) webhookURL(name string) Secret {
	s := l.secret(name)
	if s.IsZero() {
		return s
	}
	const expected = "must be an https URL like https://hooks.slack.com/services/… or https://discord.com/api/webhooks/… (the value, a secret, is not shown)"
	u, err := url.Parse(s.Value())
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		l.failf(name, "%s", expected)
	case u.Scheme != "https":
		l.failf(name, "%s; its scheme is %s: the URL holds the webhook's token, which must not cross the network in clear", expected, quote(u.Scheme))
	case u.Fragment != "":
		l.failf(name, "%s, without a fragment (#)", expected)
	default:
		return s
	}
	return Secret{}
}
