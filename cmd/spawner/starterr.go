package main

import (
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/config"
)

// permanentError is a failure at start that retrying cannot fix (a refused
// token, an unknown guild, access denied): retry returns it at once, and the
// daemon exits with it.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// discordStartError tells a failed Discord call at start with what to
// check, permanent unless Discord did not answer, was busy (5xx) or asked to
// slow down (429).
func discordStartError(cfg *config.Config, err error) error {
	if err == nil {
		return nil
	}
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("discord unreachable at %s: check DISCORD_API_URL and the network (%w)", cfg.DiscordAPIURL, err)
	}
	code := re.Response.StatusCode
	switch {
	case code == http.StatusUnauthorized:
		return permanentError{fmt.Errorf("discord: the token was refused (401): check DISCORD_TOKEN (copy it again from the Developer Portal, Bot page)")}
	case code == http.StatusForbidden || code == http.StatusNotFound:
		return permanentError{fmt.Errorf("discord: the bot cannot see guild %s (%d): check DISCORD_GUILD_ID, and that the bot was invited there", cfg.GuildID, code)}
	case code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("discord at %s answered %d: retrying (%w)", cfg.DiscordAPIURL, code, err)
	}
	return permanentError{fmt.Errorf("discord refused the bot's request (%d): check DISCORD_TOKEN and DISCORD_GUILD_ID (%w)", code, err)}
}

// tableStartError tells a failed DynamoDB call at start with what to check,
// permanent unless AWS did not answer, throttled, or failed on its side.
func tableStartError(cfg *config.Config, err error) error {
	if err == nil {
		return nil
	}
	if unanswered(err) {
		what := "AWS_REGION and the network"
		if v := awsAccessVars(cfg, "AWS_ENDPOINT_URL_DYNAMODB", cfg.DynamoDBEndpoint); v != awsChainVars {
			what = v + " / AWS_REGION"
		}
		return fmt.Errorf("dynamodb unreachable at %s: check %s (%w)", dynamoEndpoint(cfg), what, err)
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return permanentError{fmt.Errorf("dynamodb: %w: check AWS_DYNAMODB_TABLE_NAME", err)}
	}
	var resp *awshttp.ResponseError
	switch code := api.ErrorCode(); {
	case code == "ThrottlingException" || code == "ProvisionedThroughputExceededException" ||
		code == "RequestLimitExceeded" || code == "LimitExceededException" ||
		(errors.As(err, &resp) && resp.HTTPStatusCode() >= 500):
		return fmt.Errorf("dynamodb at %s is busy (%s): retrying (%w)", dynamoEndpoint(cfg), code, err)
	case code == "AccessDeniedException" || code == "UnrecognizedClientException" ||
		code == "InvalidSignatureException" || code == "MissingAuthenticationTokenException" ||
		code == "ExpiredTokenException" || code == "IncompleteSignature":
		return permanentError{fmt.Errorf("dynamodb refused the bot's credentials (%s): check the AWS credentials and that their IAM policy allows the table %s (%w)", code, cfg.Table, err)}
	}
	return permanentError{fmt.Errorf("dynamodb: %w: check AWS_DYNAMODB_TABLE_NAME", err)}
}

// dynamoEndpoint is where the DynamoDB client sends its requests.
func dynamoEndpoint(cfg *config.Config) string {
	if e := awsEndpoint(cfg, cfg.DynamoDBEndpoint); e != nil {
		return *e
	}
	return "the AWS endpoint of " + cfg.AWSRegion
}
