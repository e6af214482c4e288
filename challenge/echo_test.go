package challenge_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"certmaker/challenge"
	"certmaker/internal/rawsite"
)

// marker stands for bytes a hostile target sends; no reason may repeat it.
const marker = "Zq9-MARKER-from-the-peer"

// TestChecker_ReasonNeverEchoesPeer: whatever a target answers, the reason
// is one of a few fixed sentences and never carries the target's bytes, so
// the checker cannot be used to read banners off hosts the CA can reach.
func TestChecker_ReasonNeverEchoesPeer(t *testing.T) {
	tests := []struct {
		name       string
		answer     string // raw bytes on the wire; "" uses handler
		handler    http.Handler
		wantReason string
	}{
		{name: "SSHBanner", answer: "SSH-2.0-OpenSSH_9.6p1 " + marker + "\r\n", wantReason: "not an HTTP answer"},
		{name: "SMTPBanner", answer: "220 mail.example ESMTP " + marker + "\r\n", wantReason: "not an HTTP answer"},
		{name: "BadStatusCode", answer: "HTTP/1.1 2" + marker + " OK\r\n\r\n", wantReason: "not an HTTP answer"},
		{name: "BadHeaderLine", answer: "HTTP/1.1 200 OK\r\n" + marker + " no colon here\r\n\r\n", wantReason: "not an HTTP answer"},
		{name: "BadContentLength", answer: "HTTP/1.1 200 OK\r\nContent-Length: " + marker + "\r\n\r\n", wantReason: "not an HTTP answer"},
		{name: "BadTransferEncoding", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + marker + "\r\n\r\n", wantReason: "not an HTTP answer"},
		{name: "BadChunk", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + marker + "\r\n", wantReason: "not an HTTP answer"},
		{name: "HugeHeader", answer: "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat(marker, 1000) + "\r\n\r\n", wantReason: "not an HTTP answer"},
		{name: "HalfAnswer", answer: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + marker, wantReason: "connection closed before a complete answer"},
		{name: "BodyWithMarker", handler: serveFile(challenge.WellKnownPath, marker), wantReason: "wrong token"},
		{name: "LargeBodyWithMarker", handler: serveFile(challenge.WellKnownPath, strings.Repeat(marker, 20)), wantReason: "body larger than 128 bytes"},
		{name: "StatusWithMarker", answer: "HTTP/1.1 403 " + marker + "\r\nContent-Length: 0\r\n\r\n", wantReason: "HTTP 403"},
		{name: "RedirectToMarker", handler: http.RedirectHandler("http://"+marker+".example/"+marker, http.StatusFound), wantReason: "redirects are not followed (HTTP 302)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p int
			if tt.handler != nil {
				p = serve(t, "127.0.0.2:0", tt.handler)
			} else {
				p = rawsite.Serve(t, "127.0.0.2:0", tt.answer)
			}
			c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: map[string][]netip.Addr{"a.test": {ip2}}})
			err := c.CheckOne(t.Context(), requester, target("a.test", p))
			got := reasonOf(t, err)
			if got != tt.wantReason {
				t.Errorf("reason %q, want %q", got, tt.wantReason)
			}
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(marker)) {
				t.Errorf("error %q repeats the peer's bytes", err)
			}
		})
	}
}
