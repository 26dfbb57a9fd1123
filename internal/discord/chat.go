package discord

import (
	"context"
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
		return "", fmt.Errorf("create ticket channel: %w", err)
	}
	return ch.ID, nil
}

// Send posts m in a channel; only the users in m.Mentions are pinged.
func (b *Bot) Send(ctx context.Context, channelID string, m spawner.Message) (string, error) {
	msg, err := b.s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{
		Content:         m.Content,
		AllowedMentions: &discordgo.MessageAllowedMentions{Users: m.Mentions},
	}, discordgo.WithContext(ctx))
	if err != nil {
		b.failed("send message")
		return "", fmt.Errorf("send message: %w", err)
	}
	return msg.ID, nil
}

// Edit replaces the content of a message the bot sent.
func (b *Bot) Edit(ctx context.Context, channelID, messageID string, m spawner.Message) error {
	content := m.Content
	_, err := b.s.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: messageID, Channel: channelID, Content: &content,
		AllowedMentions: &discordgo.MessageAllowedMentions{Users: m.Mentions},
	}, discordgo.WithContext(ctx))
	if err != nil {
		b.failed("edit message")
		return fmt.Errorf("edit message: %w", err)
	}
	return nil
}

// DeleteChannel deletes a channel; one already gone is not an error.
func (b *Bot) DeleteChannel(ctx context.Context, channelID string) error {
	_, err := b.s.ChannelDelete(channelID, discordgo.WithContext(ctx))
	if err != nil && !isNotFound(err) {
		b.failed("delete channel")
		return fmt.Errorf("delete channel: %w", err)
	}
	return nil
}

// CategoryChannels lists the channels under the ticket category.
func (b *Bot) CategoryChannels(ctx context.Context) ([]spawner.Channel, error) {
	chans, err := b.s.GuildChannels(b.cfg.GuildID, discordgo.WithContext(ctx))
	if err != nil {
		b.failed("list channels")
		return nil, fmt.Errorf("list channels: %w", err)
	}
	var out []spawner.Channel
	for _, c := range chans {
		if c.ParentID == b.cfg.CategoryID && c.Type == discordgo.ChannelTypeGuildText {
			out = append(out, spawner.Channel{ID: c.ID, Name: c.Name, Topic: c.Topic})
		}
	}
	return out, nil
}

// Log posts m in the admin log channel, pinging nobody; without a log
// channel it does nothing.
func (b *Bot) Log(ctx context.Context, m spawner.Message) error {
	if b.cfg.LogChannelID == "" {
		return nil
	}
	_, err := b.Send(ctx, b.cfg.LogChannelID, spawner.Message{Content: m.Content})
	return err
}

func isNotFound(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound
}
