package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"certmaker/internal/binarytest"
)

// TestBinary_ListenFamily: an address says which family a listener takes.
// 0.0.0.0 is every IPv4 address and no IPv6 one (Go's "tcp" on it would
// take both), [::] every IPv6 one and no IPv4 one, for the public, the
// plain-HTTP and the metrics listeners alike.
func TestBinary_ListenFamily(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	dir := t.TempDir()
	port, plainPort, metricsPort := freePort(t), freePort(t), freePort(t)
	conf := fmt.Sprintf("[server]\nlisten = \"0.0.0.0:%d\"\npublic_url = \"https://127.0.0.1:%d\"\nhttp_listen = \"[::]:%d\"\ntls = \"self\"\n[metrics]\nlisten = \"0.0.0.0:%d\"\n",
		port, port, plainPort, metricsPort)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(string(binary), "serve")
	cmd.Dir = dir
	srv := binarytest.StartCmd(t, cmd, fmt.Sprintf("https://127.0.0.1:%d", port))
	defer srv.Stop(t)

	for _, c := range []struct {
		what   string
		port   int
		v4, v6 bool
	}{
		{"listen 0.0.0.0", port, true, false},
		{"http_listen [::]", plainPort, false, true},
		{"metrics.listen 0.0.0.0", metricsPort, true, false},
	} {
		for _, a := range []struct {
			host string
			want bool
		}{{"127.0.0.1", c.v4}, {"::1", c.v6}} {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(a.host, strconv.Itoa(c.port)), 2*time.Second)
			if err == nil {
				conn.Close()
			}
			if got := err == nil; got != a.want {
				t.Errorf("%s: connecting to %s: %v, want connected=%v", c.what, a.host, err, a.want)
			}
		}
	}
}
