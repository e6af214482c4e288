package api_test

import (
	"strconv"
	"strings"
	"testing"

	"certmaker/internal/rawsite"
)

// TestChallenge_417NeverEchoesTarget: a target that answers with an SSH
// banner or a broken header line fails the solve with a fixed reason; the
// 417 never repeats its bytes, so a solve cannot read banners off hosts
// the CA reaches.
func TestChallenge_417NeverEchoesTarget(t *testing.T) {
	const marker = "Zq9-MARKER-from-the-peer"
	e := newEnv(t, envOptions{challenge: true})
	for _, answer := range []string{
		"SSH-2.0-OpenSSH_9.6p1 " + marker + "\r\n",
		"HTTP/1.1 200 OK\r\n" + marker + " no colon here\r\n\r\n",
	} {
		port := strconv.Itoa(rawsite.Serve(t, "127.0.0.2:0", answer))
		r := e.do("POST", "/api/certificate/request", "alice", `{"ips":["127.0.0.2"]}`).want(t, 202)
		solve := e.path(r.header.Get("X-Challenge-Location"))
		r = e.do("GET", solve, "alice", "", "X-Challenge-Port", port).want(t, 417)
		if strings.Contains(r.body, marker) {
			t.Errorf("417 %q repeats the target's bytes", r.body)
		}
		if want := "127.0.0.2: not an HTTP answer\n"; r.body != want {
			t.Errorf("417 %q, want %q", r.body, want)
		}
	}
}
