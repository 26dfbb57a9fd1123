package fakediscord

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// OptionAttachment is the type of a command option holding a file.
const OptionAttachment = 11

// Attachment is a file a member attaches to an option of type ATTACHMENT.
// Give it as the option's value in InteractionSpec.Options (or use
// CommandWithAttachment): the interaction then carries the attachment's id
// as the value and its description in data.resolved.attachments, with a URL
// on the fake's own server that serves Content, as Discord's CDN does.
type Attachment struct {
	Filename    string // "file.bin" when empty
	ContentType string // e.g. "application/json"; left out of the payload when empty
	Content     []byte
}

// attachmentRef stands for an attachment in the options of an interaction
// being built: its value is the attachment's id.
type attachmentRef struct{ id string }

type attachmentState struct {
	Attachment
	id, channelID, sig string
}

// CommandWithAttachment dispatches a chat input command from user in the
// main guild with file attached as the option named option, besides opts,
// e.g. CommandWithAttachment(admin, "en-US", []string{"game", "add"}, "file",
// Attachment{Filename: "valheim.json", ContentType: "application/json",
// Content: b}, nil).
func (s *Server) CommandWithAttachment(user User, locale string, path []string, option string, file Attachment, opts map[string]any) *Interaction {
	s.tb.Helper()
	all := map[string]any{option: file}
	for k, v := range opts {
		all[k] = v
	}
	return s.Interact(s.tb, InteractionSpec{User: user, Locale: locale, Path: path, Options: all})
}

// addAttachmentsLocked replaces the Attachment values of opts by references
// to stored attachments, and returns the resolved attachments as Discord
// sends them in data.resolved.attachments.
func (s *Server) addAttachmentsLocked(opts map[string]any, channelID string) (map[string]any, map[string]any) {
	out := make(map[string]any, len(opts))
	resolved := map[string]any{}
	for name, v := range opts {
		a, ok := v.(Attachment)
		if p, isPtr := v.(*Attachment); isPtr && p != nil {
			a, ok = *p, true
		}
		if !ok {
			out[name] = v
			continue
		}
		if a.Filename == "" {
			a.Filename = "file.bin"
		}
		st := &attachmentState{Attachment: a, id: s.ids.next(), channelID: channelID, sig: randomToken(16)}
		st.Content = append([]byte(nil), a.Content...)
		s.attachments[st.id] = st
		u := s.attachmentURL(st)
		j := map[string]any{
			"id": st.id, "filename": st.Filename, "size": len(st.Content),
			"url": u, "proxy_url": u, "ephemeral": true,
		}
		if st.ContentType != "" {
			j["content_type"] = st.ContentType
		}
		resolved[st.id] = j
		out[name] = attachmentRef{id: st.id}
	}
	return out, resolved
}

// attachmentURL is where the fake serves an attachment: Discord's CDN path
// (/attachments/{channel}/{id}/{filename}) with its signed query (ex, is,
// hm) on the fake's loopback server. A URL with another hm is refused.
func (s *Server) attachmentURL(a *attachmentState) string {
	now := time.Now()
	q := url.Values{
		"ex": {strconv.FormatInt(now.Add(24*time.Hour).Unix(), 16)},
		"is": {strconv.FormatInt(now.Unix(), 16)},
		"hm": {a.sig},
	}
	return fmt.Sprintf("%s/attachments/%s/%s/%s?%s", s.http.URL, a.channelID, a.id, url.PathEscape(a.Filename), q.Encode())
}

// serveAttachment answers GET /attachments/{channel}/{id}/{filename} as
// Discord's CDN does: no token needed, the signature must match.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.attachments[r.PathValue("id")]
	s.mu.Unlock()
	if a == nil || a.channelID != r.PathValue("channel") || a.Filename != r.PathValue("filename") ||
		subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("hm")), []byte(a.sig)) != 1 {
		http.Error(w, "This content is no longer available.", http.StatusNotFound)
		return
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Content)))
	w.Write(a.Content)
}
