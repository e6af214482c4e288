package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Event kinds, the "event" field of the JSON format.
const (
	KindCertificate = "certificate_expiring"
	KindRoot        = "root_expiring"
	KindTest        = "test"
)

// Event is one message. The "json" format posts it as it is.
type Event struct {
	Kind     string    `json:"event"`
	Title    string    `json:"title"`
	Message  string    `json:"message"`
	URL      string    `json:"url,omitempty"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
	// One of these, by Kind.
	Certificate *CertificateInfo `json:"certificate,omitempty"`
	Root        *RootInfo        `json:"root,omitempty"`
}

// CertificateInfo names the certificate of a certificate_expiring event.
type CertificateInfo struct {
	ID    string   `json:"id"`
	Names []string `json:"names"`
	Owner string   `json:"owner"`
}

// RootInfo names the root of a root_expiring event.
type RootInfo struct {
	Fingerprint string `json:"fingerprint"`
	Subject     string `json:"subject"`
}

// Formats of the request body.
const (
	FormatJSON   = "json"
	FormatNtfy   = "ntfy"
	FormatGotify = "gotify"
)

// Formats lists the formats a webhook may take.
var Formats = []string{FormatJSON, FormatNtfy, FormatGotify}

// request builds the POST of e to url in format.
func (e *Event) request(format, url string) (*http.Request, error) {
	var body []byte
	var err error
	contentType := "application/json"
	switch format {
	case FormatJSON:
		body, err = json.Marshal(e)
	case FormatNtfy:
		// ntfy takes the message as the body and the rest as headers
		// (docs.ntfy.sh, "Publishing").
		body, contentType = []byte(e.Message), "text/plain; charset=utf-8"
	case FormatGotify:
		// Gotify's POST /message?token=...; a click opens the URL.
		msg := map[string]any{"title": e.Title, "message": e.Message, "priority": e.priority(8, 5)}
		if e.URL != "" {
			msg["extras"] = map[string]any{"client::notification": map[string]any{"click": map[string]string{"url": e.URL}}}
		}
		body, err = json.Marshal(msg)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return nil, fmt.Errorf("encoding message: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "certmaker-notify")
	if format == FormatNtfy {
		req.Header.Set("Title", oneLine(e.Title))
		req.Header.Set("Tags", "warning")
		req.Header.Set("Priority", map[int]string{4: "high", 3: "default"}[e.priority(4, 3)])
		if e.URL != "" {
			req.Header.Set("Click", e.URL)
		}
	}
	return req, nil
}

// priority is high for the root (everything depends on it), normal else.
func (e *Event) priority(high, normal int) int {
	if e.Kind == KindRoot {
		return high
	}
	return normal
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// daysLeft is whole days from now to end, never negative.
func daysLeft(now, end time.Time) int {
	return max(0, int(end.Sub(now)/(24*time.Hour)))
}

// inDays words a number of days left.
func inDays(n int) string {
	switch n {
	case 0:
		return "within a day"
	case 1:
		return "in 1 day"
	}
	return fmt.Sprintf("in %d days", n)
}
