package command

import "testing"

func TestTCPNetwork(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8880":          "tcp4",
		"127.0.0.1:0":           "tcp4",
		"[::ffff:10.0.0.1]:80":  "tcp4",
		"[::]:8880":             "tcp6",
		"[::1]:9880":            "tcp6",
		"[fe80::1%eth0]:80":     "tcp6",
		":8880":                 "tcp",
		"localhost:8880":        "tcp",
		"ca.home.lan:8443":      "tcp",
		"not an address at all": "tcp",
	} {
		if got := tcpNetwork(addr); got != want {
			t.Errorf("tcpNetwork(%q) = %q, want %q", addr, got, want)
		}
	}
}
