package api_test

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
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
		port := strconv.Itoa(rawSite(t, "127.0.0.2:0", answer))
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

// rawSite answers every connection at addr with answer after reading the
// request's head, and returns the port.
func rawSite(t *testing.T, addr, answer string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				conn.Write([]byte(answer))
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
