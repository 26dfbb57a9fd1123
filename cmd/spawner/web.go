package main

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mineral-contest/spawner/internal/config"
	"github.com/mineral-contest/spawner/internal/discord"
	"github.com/mineral-contest/spawner/internal/lifecycle"
	"github.com/mineral-contest/spawner/internal/lifecycle/feed"
	"github.com/mineral-contest/spawner/internal/metrics"
	"github.com/mineral-contest/spawner/internal/spawner"
	"github.com/mineral-contest/spawner/internal/web"
)

// Lifetimes of the web links the bot posts.
const (
	// dashboardLinkTTL is how long the link of /server dashboard works:
	// an evening of play; asking again gives a new one.
	dashboardLinkTTL = 12 * time.Hour
	// linkMargin is added to a server link's lifetime, so a page opened
	// near the end still sees the end.
	linkMargin = time.Hour
)

// serverLinkTTL is how long a ticket's link to its server's page works,
// from when the status message was last edited (each edit signs it anew):
// the longest the server may still live, its boot (ReadyTimeout) plus its
// MaxDuration plus every extension a member may add, and a margin. An
// admin's extensions past the members' limit are covered as long as the
// status message is edited after them.
func serverLinkTTL(g spawner.Game, cfg *config.Config) time.Duration {
	extend := g.ExtendDuration
	if extend <= 0 {
		extend = cfg.ExtendDuration
	}
	return g.ReadyTimeout + g.MaxDuration + time.Duration(cfg.MaxExtensions)*extend + linkMargin
}

// webLinks are off unless the pages are both served (HTTP_ADDR) and
// reachable (PUBLIC_URL).
func webLinks(cfg *config.Config) bool { return cfg.PublicURL != "" && cfg.HTTPAddr != "" }

// newSigner signs and checks the web links with WEB_SECRET. Two signers
// built from one configuration accept each other's tokens.
func newSigner(cfg *config.Config) *web.Signer {
	return web.NewSigner([]byte(cfg.WebSecret.Value()), nil)
}

// links makes the ticket's link to a server's page; nil without web links.
type links struct {
	cfg    *config.Config
	signer *web.Signer
}

var _ lifecycle.Links = links{}

// Server returns PUBLIC_URL/servers/<id>?token=<server-scoped token>.
func (l links) Server(srv spawner.Server, g spawner.Game) string {
	id := srv.CreationID
	if id == "" {
		id = srv.ShortTaskID()
	}
	// Made for the owner: the feed counts its connections with the owner's
	// other links.
	token := l.signer.Sign(web.ServerScope(id).For(srv.Owner), serverLinkTTL(g, l.cfg))
	return l.cfg.PublicURL + "/servers/" + url.PathEscape(id) + "?token=" + url.QueryEscape(token)
}

// lifecycleLinks is the lifecycle's Links: nil (no link) without web links.
func lifecycleLinks(cfg *config.Config) lifecycle.Links {
	if !webLinks(cfg) {
		return nil
	}
	return links{cfg: cfg, signer: newSigner(cfg)}
}

// dashboardLink is /server dashboard's link maker: a member's token, or the
// fleet's for an admin; nil without web links, so the subcommand is not
// registered.
func dashboardLink(cfg *config.Config) discord.Dashboard {
	if !webLinks(cfg) {
		return nil
	}
	signer := newSigner(cfg)
	return func(actor spawner.Actor) (string, time.Duration) {
		scope := web.MemberScope(actor.UserID)
		if actor.Admin {
			scope = web.FleetScope().For(actor.UserID)
		}
		return cfg.PublicURL + "/?token=" + url.QueryEscape(signer.Sign(scope, dashboardLinkTTL)), dashboardLinkTTL
	}
}

// pages are the live web pages and their event feed, served beside
// /healthz on HTTP_ADDR. Build them with newPages; Close ends the feed's
// connections before the HTTP server shuts down.
type pages struct {
	hub     *web.Hub
	handler http.Handler
}

// fleetOf reads the lifecycle's snapshot once it exists: the HTTP server
// starts before it.
type fleetOf struct{ m *Main }

func (f fleetOf) Snapshot() []spawner.Event {
	if mgr := f.m.mgr.Load(); mgr != nil {
		return mgr.Snapshot()
	}
	return nil
}

// newPages returns the pages of m, or nil when there is no HTTP server.
func newPages(m *Main, met *metrics.Metrics) *pages {
	if m.cfg.HTTPAddr == "" {
		return nil
	}
	if m.cfg.PublicURL == "" {
		m.log.Info("PUBLIC_URL is not set: the live pages are served, but no link to them is posted")
	}
	if m.cfg.WebSecretRandom {
		m.log.Info("WEB_SECRET is not set: web links stop working when the bot restarts")
	}
	opt := web.HubOptions{Fleet: fleetOf{m}, Logger: m.log, PingInterval: feedPingInterval}
	if met != nil {
		opt.OnClients, opt.OnDropped = met.FeedClients, met.FeedDropped
	}
	hub := web.NewHub(opt)
	return &pages{hub: hub, handler: web.Handler(web.HandlerOptions{
		Signer: newSigner(m.cfg), Hub: hub, Logger: m.log, BasePath: basePath(m.cfg.PublicURL),
		Backups: m.worlds.backups,
	})}
}

// basePath is the path of PUBLIC_URL ("/spawner" of
// https://example.org/spawner), under which a reverse proxy that does not
// strip it passes the pages on; "" when it has none.
func basePath(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil { // config.Load checked it
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// events is the lifecycle's Events: nil (none) without pages.
func (p *pages) events() feed.Events {
	if p == nil {
		return nil
	}
	return p.hub
}

// mount serves the pages on mux: /events, /servers/{id}, / and /assets/,
// at the root and under PUBLIC_URL's path, everything but what mux
// already serves.
func (p *pages) mount(mux *http.ServeMux) {
	if p == nil {
		return
	}
	mux.Handle("/", p.handler)
}

// Close ends every feed connection and waits for them. It is idempotent
// and does nothing on nil.
func (p *pages) Close() {
	if p != nil {
		_ = p.hub.Close()
	}
}
