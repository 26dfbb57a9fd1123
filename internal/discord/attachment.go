package discord

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// cdnHosts are the hosts Discord serves attachments from.
var cdnHosts = []string{"cdn.discordapp.com", "media.discordapp.net"}

// errNotAttachment is a URL that is not where Discord serves attachments:
// the bot fetches nothing else, so an interaction cannot make it reach
// into the host's network or the cloud's metadata service.
var errNotAttachment = errors.New("not a Discord attachment address")

// attachmentURL reports whether raw is an address the bot may fetch an
// attachment from: https on Discord's CDN, or the host of api, the
// configured DISCORD_API_URL (a proxy, or a test server), with its scheme.
func attachmentURL(raw string, api *url.URL) error {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return errNotAttachment
	}
	return attachmentHost(u, api)
}

func attachmentHost(u *url.URL, api *url.URL) error {
	host := strings.ToLower(u.Host)
	if u.Scheme == "https" && u.Port() == "" && slices.Contains(cdnHosts, host) {
		return nil
	}
	if api != nil && api.Host != "" && u.Scheme == api.Scheme && host == strings.ToLower(api.Host) {
		return nil
	}
	return errNotAttachment
}

// attachmentClient fetches attachments and follows a redirect only to an
// address attachmentURL allows.
func attachmentClient(api *url.URL) *http.Client {
	return &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return attachmentHost(req.URL, api)
	}}
}
