package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"
)

// target is one webhook.
type target struct {
	url    string // with its secrets; never logged
	name   string // scheme://host, for logs and errors
	id     string // short hash of url: the prefix of its announcement keys
	format string
}

func newTarget(raw, format string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// Not even the host: a URL this broken may be a secret pasted whole.
		return target{}, fmt.Errorf("a webhook URL is not an absolute http or https URL")
	}
	sum := sha256.Sum256([]byte(raw))
	return target{url: raw, name: Redact(raw), id: hex.EncodeToString(sum[:8]), format: format}, nil
}

// Redact is a webhook URL as logs may show it: scheme and host, and "/…"
// where it had more (a path may be an ntfy topic, a query a token).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(webhook)"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		s += "/…"
	}
	return s
}

// maxResponse is how much of a webhook's answer is read (and dropped) so
// that the connection can be reused.
const maxResponse = 64 << 10

// send posts e to t once.
func (n *Notifier) send(ctx context.Context, t target, e *Event) error {
	req, err := e.request(t.format, t.url)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, scrub(err))
	}
	resp, err := n.client.Do(req.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("posting to %s: %w", t.name, scrub(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", t.name, resp.Status)
	}
	return nil
}

// scrub drops the *url.Error wrapping an HTTP client error: it repeats the
// whole URL, secrets and all.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// deliver sends e to t, retrying with doubling waits, up to n.attempts
// times in all.
func (n *Notifier) deliver(ctx context.Context, t target, e *Event) error {
	wait := n.backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = n.send(ctx, t, e); err == nil {
			return nil
		}
		if attempt >= n.attempts {
			return fmt.Errorf("%d attempts: %w", attempt, err)
		}
		n.log.Warn("webhook delivery failed; retrying", "webhook", t.name, "attempt", attempt, "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// maxBackoff caps the wait between two attempts.
const maxBackoff = 5 * time.Minute
