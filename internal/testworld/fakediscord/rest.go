package fakediscord

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Discord's JSON error codes the fake answers with.
const (
	CodeUnknownChannel      = 10003
	CodeUnknownGuild        = 10004
	CodeUnknownMember       = 10007
	CodeUnknownMessage      = 10008
	CodeUnknownWebhook      = 10015
	CodeUnknownInteraction  = 10062
	CodeAlreadyAcknowledged = 40060
	CodeMissingAccess       = 50001
	CodeCannotSendEmpty     = 50006
	CodeNonTextChannel      = 50008
	CodeMissingPermissions  = 50013
	CodeInvalidFormBody     = 50035
	CodeMaxGuildChannels    = 30013
)

// Discord's channel limits, which the fake enforces.
const (
	MaxCategoryChannels = 50  // channels under one category
	MaxGuildChannels    = 500 // channels in one guild, categories included
)

type handler func(w http.ResponseWriter, r *http.Request, body []byte)

// routes builds the mux. Every API route is registered under /api/{version}
// with its Discord method and template; the template (without the prefix) is
// what Request.Route, FailNext and Count use.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(route string, h handler) {
		method, tmpl, _ := strings.Cut(route, " ")
		mux.Handle(method+" /api/{version}"+tmpl, s.wrap(route, h))
	}
	api("GET /gateway", s.getGateway)
	api("GET /gateway/bot", s.getGatewayBot)
	api("GET /users/@me", s.getMe)
	api("GET /users/@me/guilds", s.getMyGuilds)
	api("DELETE /users/@me/guilds/{guild}", s.leaveGuild)
	api("GET /applications/@me", s.getApplication)
	api("GET /oauth2/applications/@me", s.getApplication)
	api("PUT /applications/{app}/guilds/{guild}/commands", s.putCommands)
	api("GET /applications/{app}/guilds/{guild}/commands", s.getCommands)
	api("PUT /applications/{app}/commands", s.putCommands)
	api("GET /applications/{app}/commands", s.getCommands)
	api("GET /guilds/{guild}", s.getGuild)
	api("GET /guilds/{guild}/roles", s.getRoles)
	api("GET /guilds/{guild}/channels", s.getGuildChannels)
	api("POST /guilds/{guild}/channels", s.createChannel)
	api("GET /guilds/{guild}/members/{user}", s.getMember)
	api("GET /channels/{channel}", s.getChannel)
	api("DELETE /channels/{channel}", s.deleteChannel)
	api("GET /channels/{channel}/messages", s.getMessages)
	api("POST /channels/{channel}/messages", s.postMessage)
	api("GET /channels/{channel}/messages/{message}", s.getMessage)
	api("PATCH /channels/{channel}/messages/{message}", s.editMessage)
	api("DELETE /channels/{channel}/messages/{message}", s.deleteMessage)
	api("POST /interactions/{id}/{token}/callback", s.interactionCallback)
	api("POST /webhooks/{app}/{token}", s.followup)
	api("GET /webhooks/{app}/{token}/messages/{message}", s.getWebhookMessage)
	api("PATCH /webhooks/{app}/{token}/messages/{message}", s.editWebhookMessage)
	api("DELETE /webhooks/{app}/{token}/messages/{message}", s.deleteWebhookMessage)

	// discordgo dials the gateway URL with a slash appended.
	mux.HandleFunc("GET /gateway", s.serveGateway)
	mux.HandleFunc("GET /gateway/{$}", s.serveGateway)
	// Attachments are served like Discord's CDN: no token, a signed URL.
	mux.HandleFunc("GET /attachments/{channel}/{id}/{filename}", s.serveAttachment)
	mux.Handle("/", s.wrap("", s.notFound))
	return mux
}

var apiPrefix = regexp.MustCompile(`^/api(/v\d+)?`)

// recorder keeps the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// wrap records the request, checks the token, applies injected faults and
// adds rate limit headers before handing over to h.
func (s *Server) wrap(route string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		p := apiPrefix.ReplaceAllString(r.URL.Path, "")
		req := Request{
			Method: r.Method, Path: p, Query: r.URL.RawQuery, Route: route, At: at,
			Body: string(body), AuditLogReason: r.Header.Get("X-Audit-Log-Reason"),
		}
		rec := &recorder{ResponseWriter: w}
		defer func() {
			req.Status = rec.status
			s.mu.Lock()
			s.requests = append(s.requests, req)
			if route == "" {
				s.unexpected = append(s.unexpected, r.Method+" "+p)
			}
			s.mu.Unlock()
		}()

		if r.Header.Get("Authorization") != "Bot "+s.opts.Token {
			writeError(rec, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		if f := s.takeFault(r.Method, route, p); f != nil {
			req.Injected = true
			if f.afterEffect {
				h(httptest.NewRecorder(), r, body) // done, and its answer lost
			}
			s.writeFault(rec, route, f)
			return
		}
		bucket := bucketOf(route)
		rec.Header().Set("X-RateLimit-Limit", "5")
		rec.Header().Set("X-RateLimit-Remaining", "4")
		rec.Header().Set("X-RateLimit-Reset", resetAt(time.Now().Add(time.Second)))
		rec.Header().Set("X-RateLimit-Reset-After", "1.000")
		rec.Header().Set("X-RateLimit-Bucket", bucket)
		h(rec, r, body)
	})
}

func bucketOf(route string) string {
	h := fnv.New64a()
	h.Write([]byte(route))
	return fmt.Sprintf("%016x", h.Sum64())
}

func resetAt(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeError(w, http.StatusNotFound, 0, "404: Not Found")
}

// Unexpected lists the requests that matched no route, as "METHOD /path":
// calls the bot should not have made, or routes the fake does not know.
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// Requests returns every request answered so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is the number of requests that matched route, written like
// "POST /channels/{channel}/messages" (see Request.Route).
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Route == route {
			n++
		}
	}
	return n
}

type fault struct {
	method      string
	pattern     string
	left        int
	status      int
	retryAfter  time.Duration // for a 429; Options.RateLimitRetryAfter when zero
	afterEffect bool          // the request is carried out before the status is answered
}

// FailNext makes the next n requests matching method and pathPattern fail
// with status, before the fake acts on them. method "" or "*" matches any.
// pathPattern is a route template ("/channels/{channel}/messages"), a path
// ("/channels/123/messages") or a path.Match glob ("/channels/*/messages"),
// always without the /api/vN prefix.
//
// A 429 carries what discordgo's rate limiter reads (retry_after of
// Options.RateLimitRetryAfter, global false, X-RateLimit-* headers), so
// discordgo waits and retries by itself; other statuses carry Discord's JSON
// error body (403: code 50013 Missing Permissions, 404: "404: Not Found", 5xx:
// "<status>: <text>"). discordgo retries 502 on its own, not 500.
func (s *Server) FailNext(method, pathPattern string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, pattern: pathPattern, left: n, status: status})
}

// FailNextAfterEffect makes the next n requests matching method and
// pathPattern (as FailNext) do what they ask — a message is posted, a
// channel created — and then answer status (as FailNext) instead of the
// result: Discord failing after it acted, so that a client that retries
// does it twice unless the request says how not to (a message's nonce with
// enforce_nonce).
func (s *Server) FailNextAfterEffect(method, pathPattern string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, pattern: pathPattern, left: n, status: status, afterEffect: true})
}

// RateLimitNext makes the next n requests matching method and pathPattern
// (as FailNext) answer 429 with retry_after, as Discord does when a bucket is
// exhausted: what a bot must wait out before trying again.
func (s *Server) RateLimitNext(method, pathPattern string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, pattern: pathPattern, left: n, status: http.StatusTooManyRequests, retryAfter: retryAfter})
}

func (s *Server) takeFault(method, route, p string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, tmpl, _ := strings.Cut(route, " ")
	for _, f := range s.faults {
		if f.left <= 0 || (f.method != "" && f.method != "*" && f.method != method) {
			continue
		}
		ok, _ := path.Match(f.pattern, p)
		if f.pattern == p || (tmpl != "" && f.pattern == tmpl) || ok {
			f.left--
			return f
		}
	}
	return nil
}

func (s *Server) writeFault(w http.ResponseWriter, route string, f *fault) {
	switch status := f.status; {
	case status == http.StatusTooManyRequests:
		wait := f.retryAfter
		if wait == 0 {
			wait = s.opts.RateLimitRetryAfter
		}
		after := wait.Seconds()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after))))
		w.Header().Set("X-RateLimit-Limit", "5")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", resetAt(time.Now().Add(wait)))
		w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(after, 'f', 3, 64))
		w.Header().Set("X-RateLimit-Bucket", bucketOf(route))
		w.Header().Set("X-RateLimit-Scope", "user")
		writeJSON(w, status, map[string]any{
			"message": "You are being rate limited.", "retry_after": after, "global": false,
		})
	case status == http.StatusForbidden:
		writeError(w, status, CodeMissingPermissions, "Missing Permissions")
	case status == http.StatusBadRequest:
		writeError(w, status, CodeInvalidFormBody, "Invalid Form Body")
	default:
		writeError(w, status, 0, fmt.Sprintf("%d: %s", status, http.StatusText(status)))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, 0, "fakediscord: encode response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	b, _ := json.Marshal(map[string]any{"message": msg, "code": code})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// formError answers 400 Invalid Form Body with the field that is wrong, the
// way Discord nests it under "errors".
func formError(w http.ResponseWriter, field, msg string) {
	formErrorCode(w, field, "BASE_TYPE_INVALID", msg)
}

// formErrorCode is formError with the field error's code, e.g.
// "CHANNEL_PARENT_MAX_CHANNELS" or "BASE_TYPE_MAX_LENGTH".
func formErrorCode(w http.ResponseWriter, field, code, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{
		"message": "Invalid Form Body",
		"code":    CodeInvalidFormBody,
		"errors": map[string]any{field: map[string]any{
			"_errors": []map[string]string{{"code": code, "message": msg}},
		}},
	})
}

// jsonBody returns the JSON payload of a request: the body itself, or the
// payload_json part of a multipart body (messages with files).
func jsonBody(r *http.Request, body []byte) []byte {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return body
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			return nil
		}
		if part.FormName() == "payload_json" {
			b, _ := io.ReadAll(part)
			return b
		}
	}
}
