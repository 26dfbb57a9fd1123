package fakediscord

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) addGuildLocked(id, name string) *guildState {
	g := &guildState{id: id, name: name, botRoleID: s.ids.next(), joinedAt: time.Now()}
	s.guilds[id] = g
	s.guildOrder = append(s.guildOrder, id)
	return g
}

func (s *Server) botUserJSON() map[string]any {
	return map[string]any{
		"id": s.opts.BotUserID, "username": s.opts.BotUsername, "discriminator": "0",
		"global_name": nil, "avatar": nil, "bot": true, "verified": true,
		"mfa_enabled": false, "flags": 0, "public_flags": 0,
	}
}

func userJSON(u User) map[string]any {
	name := u.Username
	if name == "" {
		name = "user" + u.ID
	}
	return map[string]any{
		"id": u.ID, "username": name, "discriminator": "0", "global_name": name,
		"avatar": nil, "bot": false, "public_flags": 0,
	}
}

func roleJSON(id, name string, perms int64, position int, managed bool) map[string]any {
	return map[string]any{
		"id": id, "name": name, "color": 0, "hoist": false, "icon": nil, "unicode_emoji": nil,
		"position": position, "permissions": strconv.FormatInt(perms, 10), "managed": managed,
		"mentionable": false, "flags": 0,
	}
}

func (s *Server) rolesJSONLocked(g *guildState) []map[string]any {
	roles := []map[string]any{roleJSON(g.id, "@everyone", 0, 0, false)}
	for i, id := range g.roles {
		roles = append(roles, roleJSON(id, "role-"+id, 0, i+1, false))
	}
	bot := roleJSON(g.botRoleID, s.opts.BotUsername, s.botPerms, len(g.roles)+1, true)
	bot["tags"] = map[string]any{"bot_id": s.opts.BotUserID}
	return append(roles, bot)
}

func (s *Server) botMemberJSONLocked(g *guildState) map[string]any {
	return map[string]any{
		"user": s.botUserJSON(), "roles": []string{g.botRoleID}, "nick": nil, "avatar": nil,
		"joined_at": g.joinedAt.UTC().Format(time.RFC3339Nano), "premium_since": nil,
		"deaf": false, "mute": false, "flags": 0, "pending": false,
		"communication_disabled_until": nil,
	}
}

func (s *Server) guildJSONLocked(g *guildState) map[string]any {
	locale := "en-US"
	if g.id == s.opts.GuildID {
		locale = s.opts.GuildPreferredLocale
	}
	return map[string]any{
		"id": g.id, "name": g.name, "icon": nil, "splash": nil, "discovery_splash": nil,
		"owner_id": s.opts.OwnerID, "afk_channel_id": nil, "afk_timeout": 300,
		"verification_level": 0, "default_message_notifications": 1, "explicit_content_filter": 0,
		"roles": s.rolesJSONLocked(g), "emojis": []any{}, "stickers": []any{}, "features": []string{},
		"mfa_level": 0, "application_id": nil, "system_channel_id": nil, "system_channel_flags": 0,
		"rules_channel_id": nil, "vanity_url_code": nil, "description": nil, "banner": nil,
		"premium_tier": 0, "preferred_locale": locale, "public_updates_channel_id": nil,
		"nsfw_level": 0, "premium_progress_bar_enabled": false,
	}
}

// guildPayloadLocked is the GUILD_CREATE form: the guild with its channels
// and the bot's member.
func (s *Server) guildPayloadLocked(g *guildState) map[string]any {
	p := s.guildJSONLocked(g)
	chans := []map[string]any{}
	for _, id := range s.channelOrder {
		if c := s.channels[id]; c.GuildID == g.id && !c.Deleted {
			j := channelJSON(c.Channel)
			delete(j, "guild_id") // Discord leaves it out inside GUILD_CREATE
			chans = append(chans, j)
		}
	}
	p["channels"] = chans
	p["members"] = []any{s.botMemberJSONLocked(g)}
	p["member_count"] = 2
	p["joined_at"] = g.joinedAt.UTC().Format(time.RFC3339Nano)
	p["large"] = false
	p["unavailable"] = false
	p["threads"] = []any{}
	p["voice_states"] = []any{}
	p["presences"] = []any{}
	p["stage_instances"] = []any{}
	p["guild_scheduled_events"] = []any{}
	return p
}

func channelJSON(c Channel) map[string]any {
	ows := []map[string]any{}
	for _, o := range c.PermissionOverwrites {
		ows = append(ows, map[string]any{
			"id": o.ID, "type": o.Type,
			"allow": strconv.FormatInt(o.Allow, 10), "deny": strconv.FormatInt(o.Deny, 10),
		})
	}
	j := map[string]any{
		"id": c.ID, "type": c.Type, "guild_id": c.GuildID, "name": c.Name, "position": c.Position,
		"permission_overwrites": ows, "nsfw": false, "flags": 0, "parent_id": nil,
	}
	if c.ParentID != "" {
		j["parent_id"] = c.ParentID
	}
	if c.Type != ChannelCategory {
		j["topic"] = nil
		if c.Topic != "" {
			j["topic"] = c.Topic
		}
		j["last_message_id"] = nil
		j["rate_limit_per_user"] = 0
	}
	return j
}

// guildOf returns the guild the bot is in, or answers 404 Unknown Guild.
func (s *Server) guildOfLocked(w http.ResponseWriter, id string) *guildState {
	g := s.guilds[id]
	if g == nil {
		writeError(w, http.StatusNotFound, CodeUnknownGuild, "Unknown Guild")
	}
	return g
}

// basePermsLocked is the bot's guild-level permission set.
func (s *Server) basePermsLocked() int64 {
	if s.botPerms&PermAdministrator != 0 {
		return permAll
	}
	return s.botPerms
}

// channelPermsLocked computes the bot's permissions in a channel with
// Discord's algorithm: @everyone's overwrite, then its roles', then its own.
func (s *Server) channelPermsLocked(c *channelState) int64 {
	base := s.basePermsLocked()
	if base == permAll {
		return base
	}
	g := s.guilds[c.GuildID]
	var botRole string
	if g != nil {
		botRole = g.botRoleID
	}
	perms := base
	for _, o := range c.PermissionOverwrites {
		if o.Type == 0 && o.ID == c.GuildID {
			perms = perms&^o.Deny | o.Allow
		}
	}
	var allow, deny int64
	for _, o := range c.PermissionOverwrites {
		if o.Type == 0 && o.ID == botRole {
			allow |= o.Allow
			deny |= o.Deny
		}
	}
	perms = perms&^deny | allow
	for _, o := range c.PermissionOverwrites {
		if o.Type == 1 && o.ID == s.opts.BotUserID {
			perms = perms&^o.Deny | o.Allow
		}
	}
	return perms
}

// channelForBotLocked finds a live channel the bot can see, or answers 404
// Unknown Channel / 403 Missing Access.
func (s *Server) channelForBotLocked(w http.ResponseWriter, id string) *channelState {
	c := s.channels[id]
	if c == nil || c.Deleted || s.guilds[c.GuildID] == nil {
		writeError(w, http.StatusNotFound, CodeUnknownChannel, "Unknown Channel")
		return nil
	}
	if s.channelPermsLocked(c)&PermViewChannel == 0 {
		writeError(w, http.StatusForbidden, CodeMissingAccess, "Missing Access")
		return nil
	}
	return c
}

func (s *Server) getGateway(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, map[string]any{"url": s.GatewayURL()})
}

func (s *Server) getGatewayBot(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, map[string]any{
		"url": s.GatewayURL(), "shards": 1,
		"session_start_limit": map[string]any{
			"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1,
		},
	})
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, s.botUserJSON())
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.opts.ApplicationID, "name": s.opts.BotUsername, "icon": nil, "description": "",
		"bot_public": false, "bot_require_code_grant": false, "verify_key": "", "flags": 0,
		"bot": s.botUserJSON(),
	})
}

func (s *Server) getMyGuilds(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, id := range s.guildOrder {
		g := s.guilds[id]
		out = append(out, map[string]any{
			"id": g.id, "name": g.name, "icon": nil, "owner": false,
			"permissions": strconv.FormatInt(s.botPerms, 10), "features": []string{},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) leaveGuild(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("guild")
	s.mu.Lock()
	if s.guildOfLocked(w, id) == nil {
		s.mu.Unlock()
		return
	}
	delete(s.guilds, id)
	s.guildOrder = slices.DeleteFunc(s.guildOrder, func(g string) bool { return g == id })
	s.left = append(s.left, id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	s.emitGuildEvent("GUILD_DELETE", map[string]any{"id": id})
}

// LeftGuilds lists the guilds the bot left, in order.
func (s *Server) LeftGuilds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.left...)
}

// Guilds lists the guilds the bot is in now.
func (s *Server) Guilds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.guildOrder...)
}

func (s *Server) getGuild(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guildOfLocked(w, r.PathValue("guild")); g != nil {
		writeJSON(w, http.StatusOK, s.guildJSONLocked(g))
	}
}

func (s *Server) getRoles(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guildOfLocked(w, r.PathValue("guild")); g != nil {
		writeJSON(w, http.StatusOK, s.rolesJSONLocked(g))
	}
}

func (s *Server) getGuildChannels(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guildOfLocked(w, r.PathValue("guild"))
	if g == nil {
		return
	}
	out := []map[string]any{}
	for _, id := range s.channelOrder {
		if c := s.channels[id]; c.GuildID == g.id && !c.Deleted {
			out = append(out, channelJSON(c.Channel))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// AddMember makes u a member of the main guild, with u's roles, as if they
// had joined it (or had their roles changed): GET
// /guilds/{guild}/members/{user} then answers them. A user who runs an
// interaction in the main guild becomes a member the same way.
func (s *Server) AddMember(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Roles = append([]string(nil), u.Roles...)
	s.members[u.ID] = u
}

// RemoveMember makes userID leave the main guild: GET
// /guilds/{guild}/members/{user} then answers 404 Unknown Member (code
// 10007), as Discord does for a member who left or was kicked.
func (s *Server) RemoveMember(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.members, userID)
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.guildOfLocked(w, r.PathValue("guild"))
	if g == nil {
		return
	}
	uid := r.PathValue("user")
	if uid == s.opts.BotUserID {
		writeJSON(w, http.StatusOK, s.botMemberJSONLocked(g))
		return
	}
	u, ok := s.members[uid]
	if !ok || g.id != s.opts.GuildID {
		writeError(w, http.StatusNotFound, CodeUnknownMember, "Unknown Member")
		return
	}
	writeJSON(w, http.StatusOK, s.memberJSONLocked(u))
}

func (s *Server) memberJSONLocked(u User) map[string]any {
	return map[string]any{
		"user": userJSON(u), "roles": append([]string{}, u.Roles...), "nick": nil, "avatar": nil,
		"joined_at": "2024-01-01T00:00:00.000000+00:00", "premium_since": nil,
		"deaf": false, "mute": false, "flags": 0, "pending": false,
		"permissions": strconv.FormatInt(u.Permissions, 10), "communication_disabled_until": nil,
	}
}

type wireOverwrite struct {
	ID    string  `json:"id"`
	Type  flexInt `json:"type"`
	Allow flexInt `json:"allow"`
	Deny  flexInt `json:"deny"`
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Name                 string          `json:"name"`
		Type                 *int            `json:"type"`
		Topic                string          `json:"topic"`
		Position             int             `json:"position"`
		ParentID             string          `json:"parent_id"`
		PermissionOverwrites []wireOverwrite `json:"permission_overwrites"`
	}
	if err := json.Unmarshal(jsonBody(r, body), &req); err != nil {
		formError(w, "_body", "could not decode: "+err.Error())
		return
	}
	s.mu.Lock()
	g := s.guildOfLocked(w, r.PathValue("guild"))
	if g == nil {
		s.mu.Unlock()
		return
	}
	typ := ChannelText
	if req.Type != nil {
		typ = *req.Type
	}
	perms := s.basePermsLocked()
	switch {
	case len(req.Name) < 1 || len(req.Name) > 100:
		s.mu.Unlock()
		formError(w, "name", "Must be between 1 and 100 in length.")
		return
	case !slices.Contains([]int{ChannelText, ChannelVoice, ChannelCategory, ChannelNews, 13, 15}, typ):
		s.mu.Unlock()
		formError(w, "type", "Value must be one of {0, 2, 4, 5, 13, 15}.")
		return
	case req.ParentID != "":
		p := s.channels[req.ParentID]
		if typ == ChannelCategory || p == nil || p.Deleted || p.GuildID != g.id || p.Type != ChannelCategory {
			s.mu.Unlock()
			formError(w, "parent_id", "Category does not exist.")
			return
		}
		perms = s.channelPermsLocked(p)
	}
	if perms&PermManageChannels == 0 {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, CodeMissingPermissions, "Missing Permissions")
		return
	}
	inGuild, inParent := 0, 0
	for _, c := range s.channels {
		if c.GuildID == g.id && !c.Deleted {
			inGuild++
			if req.ParentID != "" && c.ParentID == req.ParentID {
				inParent++
			}
		}
	}
	switch {
	case inGuild >= MaxGuildChannels:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, CodeMaxGuildChannels, "Maximum number of guild channels reached (500)")
		return
	case inParent >= MaxCategoryChannels:
		s.mu.Unlock()
		formErrorCode(w, "parent_id", "CHANNEL_PARENT_MAX_CHANNELS", "Maximum number of channels in category reached (50)")
		return
	}
	c := &channelState{Channel: Channel{
		ID: s.ids.next(), GuildID: g.id, Name: req.Name, Type: typ, ParentID: req.ParentID,
		Topic: req.Topic, Position: req.Position, CreatedAt: time.Now(),
	}}
	if typ == ChannelText || typ == ChannelNews {
		c.Name = strings.Join(strings.Fields(strings.ToLower(req.Name)), "-")
	}
	for i, o := range req.PermissionOverwrites {
		field := "permission_overwrites." + strconv.Itoa(i)
		switch {
		case o.Type != 0 && o.Type != 1:
			s.mu.Unlock()
			formError(w, field+".type", "Value must be one of {0, 1}.")
			return
		case o.Type == 0 && o.ID != g.id && o.ID != g.botRoleID && !slices.Contains(g.roles, o.ID):
			s.mu.Unlock()
			formError(w, field+".id", "Unknown role.")
			return
		case o.Type == 1 && !isSnowflake(o.ID):
			s.mu.Unlock()
			formError(w, field+".id", "Value is not snowflake.")
			return
		}
		bits := int64(o.Allow | o.Deny)
		// Discord lets a bot allow or deny only what it holds itself, and
		// Manage Roles in a channel only with Administrator.
		if s.botPerms&PermAdministrator == 0 && (bits&^perms != 0 || bits&PermManageRoles != 0) {
			s.mu.Unlock()
			writeError(w, http.StatusForbidden, CodeMissingPermissions, "Missing Permissions")
			return
		}
		c.PermissionOverwrites = append(c.PermissionOverwrites,
			Overwrite{ID: o.ID, Type: int(o.Type), Allow: int64(o.Allow), Deny: int64(o.Deny)})
	}
	if req.PermissionOverwrites == nil && req.ParentID != "" {
		// Without overwrites a channel is synced with its category.
		c.PermissionOverwrites = slices.Clone(s.channels[req.ParentID].PermissionOverwrites)
	}
	s.channels[c.ID] = c
	s.channelOrder = append(s.channelOrder, c.ID)
	j := channelJSON(c.Channel)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, j)
	s.emitGuildEvent("CHANNEL_CREATE", j)
}

func isSnowflake(id string) bool {
	_, err := strconv.ParseUint(id, 10, 64)
	return err == nil
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.channelForBotLocked(w, r.PathValue("channel")); c != nil {
		writeJSON(w, http.StatusOK, channelJSON(c.Channel))
	}
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	c := s.channelForBotLocked(w, r.PathValue("channel"))
	if c == nil {
		s.mu.Unlock()
		return
	}
	if s.channelPermsLocked(c)&PermManageChannels == 0 {
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, CodeMissingPermissions, "Missing Permissions")
		return
	}
	c.Deleted = true
	c.DeletedAt = time.Now()
	for _, m := range s.messages {
		if m.ChannelID == c.ID {
			m.Deleted = true
		}
	}
	j := channelJSON(c.Channel)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, j)
	s.emitGuildEvent("CHANNEL_DELETE", j)
}

// Channels returns every channel of every guild, deleted ones included, in
// creation order.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Channel, 0, len(s.channelOrder))
	for _, id := range s.channelOrder {
		out = append(out, s.channels[id].snapshot())
	}
	return out
}

// Channel returns the channel with that id, deleted or not.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return c.snapshot(), true
}

// ChannelsUnder returns the channels created under a category, deleted ones
// included.
func (s *Server) ChannelsUnder(parentID string) []Channel {
	var out []Channel
	for _, c := range s.Channels() {
		if c.ParentID == parentID {
			out = append(out, c)
		}
	}
	return out
}

// PermissionsOf is what a member with the given roles may do in a channel,
// computed as Discord does (the roles the fake creates carry no permission of
// their own, so only overwrites grant anything).
func (s *Server) PermissionsOf(channelID string, u User) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return 0
	}
	return memberPerms(c, u)
}

// memberPerms computes a member's permissions in a channel with
// Discord's algorithm, from their guild-level User.Permissions.
func memberPerms(c *channelState, u User) int64 {
	perms := u.Permissions
	if perms&PermAdministrator != 0 {
		return permAll
	}
	for _, o := range c.PermissionOverwrites {
		if o.Type == 0 && o.ID == c.GuildID {
			perms = perms&^o.Deny | o.Allow
		}
	}
	var allow, deny int64
	for _, o := range c.PermissionOverwrites {
		if o.Type == 0 && slices.Contains(u.Roles, o.ID) {
			allow |= o.Allow
			deny |= o.Deny
		}
	}
	perms = perms&^deny | allow
	for _, o := range c.PermissionOverwrites {
		if o.Type == 1 && o.ID == u.ID {
			perms = perms&^o.Deny | o.Allow
		}
	}
	return perms
}
