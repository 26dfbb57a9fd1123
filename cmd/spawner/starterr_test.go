package main

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/config"
)

// TestStartErrorKinds: which failures at start are retried and which end
// the daemon, and what each tells to check.
func TestStartErrorKinds(t *testing.T) {
	api, _ := url.Parse("https://discord.com")
	cfg := &config.Config{GuildID: "1100000000000000001", DiscordAPIURL: api, Table: "spawner", AWSRegion: "eu-west-3"}
	rest := func(code int) error {
		return &discordgo.RESTError{Response: &http.Response{StatusCode: code, Status: http.StatusText(code)}}
	}
	aws := func(code string, status int) error {
		return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "DescribeTable", Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: &smithy.GenericAPIError{Code: code}},
		}}
	}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		says      string
	}{
		{"token refused", discordStartError(cfg, rest(401)), true, "the token was refused (401): check DISCORD_TOKEN"},
		{"unknown guild", discordStartError(cfg, rest(404)), true, "cannot see guild 1100000000000000001 (404): check DISCORD_GUILD_ID"},
		{"guild forbidden", discordStartError(cfg, rest(403)), true, "check DISCORD_GUILD_ID"},
		{"discord busy", discordStartError(cfg, rest(502)), false, "answered 502"},
		{"discord rate limit", discordStartError(cfg, rest(429)), false, "answered 429"},
		{"discord unreachable", discordStartError(cfg, errors.New("dial tcp: connection refused")), false, "discord unreachable at https://discord.com: check DISCORD_API_URL"},
		{"dynamodb access denied", tableStartError(cfg, aws("AccessDeniedException", 400)), true, "check the AWS credentials"},
		{"dynamodb bad key", tableStartError(cfg, aws("UnrecognizedClientException", 400)), true, "check the AWS credentials"},
		{"dynamodb throttled", tableStartError(cfg, aws("ThrottlingException", 400)), false, "busy (ThrottlingException)"},
		{"dynamodb 5xx", tableStartError(cfg, aws("InternalServerError", 500)), false, "busy (InternalServerError)"},
		{"dynamodb unreachable", tableStartError(cfg, &smithy.OperationError{ServiceID: "DynamoDB", Err: errors.New("connection refused")}), false, "dynamodb unreachable at the AWS endpoint of eu-west-3: check AWS_REGION and the network"},
		{"table of another key", tableStartError(cfg, errors.New("table spawner has key id")), true, "check AWS_DYNAMODB_TABLE_NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p permanentError
			if got := errors.As(tc.err, &p); got != tc.permanent {
				t.Errorf("permanent = %v, want %v: %v", got, tc.permanent, tc.err)
			}
			if !strings.Contains(tc.err.Error(), tc.says) {
				t.Errorf("%q does not say %q", tc.err, tc.says)
			}
		})
	}
}
