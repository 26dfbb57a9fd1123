package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"github.com/mineral-contest/spawner/internal/spawner"
)

const (
	ticketAllow = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
		discordgo.PermissionReadMessageHistory | discordgo.PermissionEmbedLinks
	botAllow = ticketAllow | discordgo.PermissionManageChannels
)

// CreateTicket creates a private text channel under the category: hidden
// from @everyone, open to the owner, the admin roles and the bot itself.
func (b *Bot) CreateTicket(ctx context.Context, t spawner.Ticket) (string, error) {
	overwrites := []*discordgo.PermissionOverwrite{
		{ID: b.cfg.GuildID, Type: discordgo.PermissionOverwriteTypeRole, Deny: discordgo.PermissionViewChannel},
		{ID: t.Owner, Type: discordgo.PermissionOverwriteTypeMember, Allow: ticketAllow},
	}
	for _, r := range b.cfg.AdminRoleIDs {
		overwrites = append(overwrites, &discordgo.PermissionOverwrite{ID: r, Type: discordgo.PermissionOverwriteTypeRole, Allow: ticketAllow})
	}
	if id, _ := b.botID.Load().(string); id != "" {
		overwrites = append(overwrites, &discordgo.PermissionOverwrite{ID: id, Type: discordgo.PermissionOverwriteTypeMember, Allow: botAllow})
	}
	ch, err := b.s.GuildChannelCreateComplex(b.cfg.GuildID, discordgo.GuildChannelCreateData{
		Name: t.Name, Type: discordgo.ChannelTypeGuildText, Topic: t.Topic,
		ParentID: b.cfg.CategoryID, PermissionOverwrites: overwrites,
	}, discordgo.WithContext(ctx))
	if err != nil {
		b.failed("create channel")
		return "", fmt.Errorf("create ticket channel: %w", ticketError(err))
	}
	return ch.ID, nil
}

// Send posts m in a channel, as messageContent renders it, with its Wake
// button when it has one (see WorldWaker); only the users in m.Mentions
// are pinged. A message with a Key is posted once: its create carries a
// nonce made from the key, which Discord enforces, so a create it carried
// out but answered with an error (retried by the transport, or sent again
// by the caller within a few minutes) returns the message already posted.
// A Wake that is not a world id is an error, and nothing is posted.
func (b *Bot) Send(ctx context.Context, channelID string, m spawner.Message) (string, error) {
	buttons, err := components(m)
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	endpoint := discordgo.EndpointChannelMessages(channelID)
	body := createMessage{
		Content:         messageContent(m),
		AllowedMentions: &discordgo.MessageAllowedMentions{Users: m.Mentions},
		Components:      buttons,
	}
	if m.Key != "" {
		body.Nonce, body.EnforceNonce = b.nonce(channelID, m.Key), true
	}
	var msg discordgo.Message
	resp, err := b.s.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint, discordgo.WithContext(ctx))
	if err == nil {
		err = json.Unmarshal(resp, &msg)
	}
	if err != nil {
		b.failed("send message")
		return "", fmt.Errorf("send message: %w", permissionError(err, "send a message in channel "+channelID, needSend))
	}
	return msg.ID, nil
}

// createMessage is the body of Discord's Create Message as the adapter
// sends it: discordgo's MessageSend (v0.29.0) has no nonce.
type createMessage struct {
	Content         string                            `json:"content"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
	Components      []discordgo.MessageComponent      `json:"components,omitempty"`
}

// nonce is the nonce of the message key names in a channel: 24 hex
// characters (Discord takes at most 25) of a hash of the guild, the
// channel and the key, so two different messages never share one.
func (b *Bot) nonce(channelID, key string) string {
	h := sha256.Sum256([]byte(b.cfg.GuildID + "\x00" + channelID + "\x00" + key))
	return hex.EncodeToString(h[:12])
}

// Edit makes a message the bot sent m, as messageContent renders it, with
// m's Wake button, or none: an edit without Wake removes the button. A
// Wake that is not a world id is an error, and nothing is changed.
func (b *Bot) Edit(ctx context.Context, channelID, messageID string, m spawner.Message) error {
	buttons, err := components(m)
	if err != nil {
		return fmt.Errorf("edit message: %w", err)
	}
	content := messageContent(m)
	_, err = b.s.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: messageID, Channel: channelID, Content: &content, Components: &buttons,
		AllowedMentions: &discordgo.MessageAllowedMentions{Users: m.Mentions},
	}, discordgo.WithContext(ctx))
	if err != nil {
		b.failed("edit message")
		return fmt.Errorf("edit message: %w", permissionError(err, "edit a message in channel "+channelID, needEdit))
	}
	return nil
}

// DeleteChannel deletes a channel; one already gone is not an error.
func (b *Bot) DeleteChannel(ctx context.Context, channelID string) error {
	_, err := b.s.ChannelDelete(channelID, discordgo.WithContext(ctx))
	if err != nil && !isNotFound(err) {
		b.failed("delete channel")
		return fmt.Errorf("delete channel: %w", permissionError(err, "delete channel "+channelID, needDelete))
	}
	return nil
}

// CategoryChannels lists the channels under the ticket category.
func (b *Bot) CategoryChannels(ctx context.Context) ([]spawner.Channel, error) {
	chans, err := b.s.GuildChannels(b.cfg.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		b.failed("list channels")
		return nil, fmt.Errorf("list channels: %w", permissionError(err, "list the guild's channels", needList))
	}
	var out []spawner.Channel
	for _, c := range chans {
		if c.ParentID == b.cfg.CategoryID && c.Type == discordgo.ChannelTypeGuildText {
			out = append(out, spawner.Channel{ID: c.ID, Name: c.Name, Topic: c.Topic})
		}
	}
	return out, nil
}

// Log posts m in the admin log channel, pinging nobody, once per Key as
// Send does; without a log channel it does nothing.
func (b *Bot) Log(ctx context.Context, m spawner.Message) error {
	if b.cfg.LogChannelID == "" {
		return nil
	}
	_, err := b.Send(ctx, b.cfg.LogChannelID, spawner.Message{Content: m.Content, Footer: m.Footer, Key: m.Key})
	return err
}

// The permissions each action needs, named as Discord's settings name them,
// for the admin who must grant them.
const (
	needSend   = "View Channel, Send Messages and Embed Links"
	needEdit   = "View Channel and Send Messages"
	needDelete = "View Channel and Manage Channels"
	needList   = "View Channel"
	// A bot may only grant in overwrites what it holds itself.
	needTicket = "Manage Channels and Manage Roles, and View Channel, Send Messages, Read Message History and Embed Links, which the ticket's overwrites grant"
)

// Discord's error codes the adapter tells apart.
const (
	codeMissingPermissions = 50013
	codeInvalidFormBody    = 50035
	codeMaxGuildChannels   = 30013
)

// permissionError returns err as a *spawner.MissingPermission when
// Discord refused the action for a missing permission (403, code 50013),
// so the lifecycle can say which permission to grant; other errors
// unchanged.
func permissionError(err error, action, need string) error {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusForbidden &&
		re.Message != nil && re.Message.Code == codeMissingPermissions {
		return &spawner.MissingPermission{System: "Discord", Action: action, Need: need, Err: err}
	}
	return err
}

// ticketError maps Discord's refusals of a ticket channel: a full category
// (400, 50035, parent_id CHANNEL_PARENT_MAX_CHANNELS) or guild (30013) to
// the domain's errors, a missing permission to a *spawner.MissingPermission.
func ticketError(err error) error {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil {
		return err
	}
	switch re.Message.Code {
	case codeMaxGuildChannels:
		return fmt.Errorf("%w: %w", spawner.ErrCommunityFull, err)
	case codeInvalidFormBody:
		var body struct {
			Errors struct {
				ParentID struct {
					Errors []struct {
						Code string `json:"code"`
					} `json:"_errors"`
				} `json:"parent_id"`
			} `json:"errors"`
		}
		if json.Unmarshal(re.ResponseBody, &body) == nil {
			for _, e := range body.Errors.ParentID.Errors {
				if e.Code == "CHANNEL_PARENT_MAX_CHANNELS" {
					return fmt.Errorf("%w: %w", spawner.ErrCategoryFull, err)
				}
			}
		}
	}
	return permissionError(err, "create a ticket channel in the category", needTicket)
}

func isNotFound(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound
}
