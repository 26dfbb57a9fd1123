package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// newWebhook returns the webhook's sink: one POST of the JSON body per
// try. The URL (a secret) never appears in what it returns or logs: only
// its host.
func (n *Notifier) newWebhook() func(ctx context.Context, m *message) error {
	client := &http.Client{}
	if n.cfg.HTTPClient != nil {
		c := *n.cfg.HTTPClient
		client = &c
	}
	// A redirect would send the alert where the admin did not say, and
	// turn the POST into a GET.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	host := "the webhook"
	if u, err := url.Parse(n.cfg.WebhookURL); err == nil {
		host = u.Host
	}
	return func(ctx context.Context, m *message) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.cfg.WebhookURL, bytes.NewReader(m.json))
		if err != nil {
			return permanent{errors.New("the webhook's URL is not valid: check ALERT_WEBHOOK_URL")}
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "spawner-alerts")
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its message holds the URL
			}
			return fmt.Errorf("POST to %s: %w", host, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		code := resp.StatusCode
		err = fmt.Errorf("POST to %s: %s", host, resp.Status)
		switch {
		case code >= 200 && code < 300:
			return nil
		case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
			return &slowDown{error: err, after: retryAfter(resp.Header.Get("Retry-After"))}
		case code == http.StatusRequestTimeout || code >= 500:
			return err
		}
		return permanent{fmt.Errorf("%w: check ALERT_WEBHOOK_URL", err)}
	}
}

// retryAfter reads a Retry-After header given in seconds; 0 when absent
// or in another form.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(v)
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}
