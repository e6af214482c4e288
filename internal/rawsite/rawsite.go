// Package rawsite is a test helper: a TCP listener that answers every
// connection with fixed bytes, byte for byte, after reading the request's
// head, so tests can play a hostile or broken challenge target (a banner,
// a bad header line) that net/http's server would never send.
package rawsite

import (
	"bufio"
	"net"
	"testing"
)

// Serve listens on addr ("127.0.0.2:0"), answers every connection with
// answer until the test ends, and returns the port. A listen error skips
// the test: the loopback alias may be missing on this machine.
func Serve(t testing.TB, addr, answer string) int {
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
