package acme_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/internal/rawsite"
)

// TestFailedChallenge_DetailNeverEchoesTarget: an http-01 target that
// answers with an SSH banner or a broken header line leaves the challenge
// invalid with a fixed reason; the problem detail never repeats its bytes.
func TestFailedChallenge_DetailNeverEchoesTarget(t *testing.T) {
	const marker = "Zq9-MARKER-from-the-peer"
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	for i, answer := range []string{
		"SSH-2.0-OpenSSH_9.6p1 " + marker + "\r\n",
		"HTTP/1.1 200 OK\r\n" + marker + " no colon here\r\n\r\n",
	} {
		// The checker fetches from the solver's port; a hostile target of
		// its own on another loopback address answers there.
		ip := "127.0.0." + strconv.Itoa(4+i)
		rawsite.Serve(t, net.JoinHostPort(ip, strconv.Itoa(e.solver.port)), answer)
		o := c.newOrder([]identifier{{"ip", ip}})
		ch := http01(t, c.authz(o.Authorizations[0]))
		var got challengeDoc
		c.post(ch.URL, struct{}{}, jwsOptions{}).want(t, http.StatusOK).json(t, &got)
		if got.Status != "invalid" || got.Error == nil {
			t.Fatalf("challenge %+v", got)
		}
		if strings.Contains(got.Error.Detail, marker) {
			t.Errorf("problem detail %q repeats the target's bytes", got.Error.Detail)
		}
		if !strings.HasSuffix(got.Error.Detail, ": not an HTTP answer") {
			t.Errorf("problem detail %q, want the fixed reason \"not an HTTP answer\"", got.Error.Detail)
		}
		if after := c.order(o.url); after.Error == nil || strings.Contains(after.Error.Detail, marker) {
			t.Errorf("order error %+v", after.Error)
		}
	}
}
