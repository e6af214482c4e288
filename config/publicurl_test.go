package config_test

import (
	"net"
	"strings"
	"testing"

	"certmaker/config"
)

// TestPublicURL_Derived: without public_url, the URL the CA hands out is
// where it listens: the listen address's host (localhost for a wildcard
// address) and port, https with tls on.
func TestPublicURL_Derived(t *testing.T) {
	for _, tc := range []struct{ listen, tls, want string }{
		{":8880", "off", "http://localhost:8880"},
		{"127.0.0.1:9000", "off", "http://127.0.0.1:9000"},
		{"0.0.0.0:9000", "off", "http://localhost:9000"},
		{"[::]:9000", "off", "http://localhost:9000"},
		{"[::1]:9000", "off", "http://[::1]:9000"},
		{"192.168.1.5:80", "off", "http://192.168.1.5"},
		{"ca.home.lan:8880", "off", "http://ca.home.lan:8880"},
		{":8443", "self", "https://localhost:8443"},
		{"10.0.0.1:443", "self", "https://10.0.0.1"},
	} {
		cfg, err := config.LoadOverride("", func(c *config.Config) {
			c.Server.Listen, c.Server.TLS = tc.listen, tc.tls
			if tc.tls != "off" {
				c.Server.HTTPListen = ":0"
			}
		})
		if err != nil {
			t.Errorf("listen %s: %v", tc.listen, err)
			continue
		}
		if cfg.Server.PublicURL != tc.want {
			t.Errorf("listen %s: public URL %q, want %q", tc.listen, cfg.Server.PublicURL, tc.want)
		}
		if w := cfg.PublicURLWarning(); w != "" {
			t.Errorf("listen %s: a derived URL warned %q", tc.listen, w)
		}
	}
	// Port 0: the port the system chose, once the listener is bound.
	cfg, err := config.LoadOverride("", func(c *config.Config) { c.Server.Listen = "127.0.0.1:0" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bound(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234})
	if cfg.Server.PublicURL != "http://127.0.0.1:41234" || cfg.CertURL() != "http://127.0.0.1:41234" {
		t.Errorf("listen :0 bound to 41234: public URL %q, cert URL %q", cfg.Server.PublicURL, cfg.CertURL())
	}
	// A public URL given is kept, bound or not.
	cfg, err = config.LoadOverride("", func(c *config.Config) { c.Server.Listen, c.Server.PublicURL = "127.0.0.1:0", "http://ca.home.lan:8880" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bound(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234})
	if cfg.Server.PublicURL != "http://ca.home.lan:8880" {
		t.Errorf("a given public URL changed to %q", cfg.Server.PublicURL)
	}
}

// TestPublicURLWarning: a public URL given that cannot reach this server
// gets one line saying why; one that can, or that a proxy may serve (its
// scheme differs from what certmaker serves), gets none.
func TestPublicURLWarning(t *testing.T) {
	for _, tc := range []struct {
		name, listen, public, tls string
		warn                      string // "" none, else a part of it
	}{
		{"Same", ":8880", "http://ca.home.lan:8880", "off", ""},
		{"DefaultPort", ":80", "http://ca.home.lan", "off", ""},
		{"LocalhostEverywhere", ":8880", "http://localhost:8880", "off", ""},
		{"ConcreteSame", "192.168.1.5:8880", "http://ca.home.lan:8880", "off", ""},
		{"LoopbackSame", "127.0.0.1:9000", "http://localhost:9000", "off", ""},
		{"TLSProxy", "127.0.0.1:8880", "https://ca.home.lan", "off", ""},
		{"TLSSame", ":8443", "https://ca.home.lan:8443", "self", ""},
		{"OtherPort", "127.0.0.1:9000", "http://localhost:8880", "off", "port 8880"},
		{"OtherPortTLS", ":8443", "https://ca.home.lan", "self", "port 443"},
		{"LoopbackURLConcreteListen", "192.168.1.5:8880", "http://localhost:8880", "off", "loopback"},
		{"LoopbackListenRemoteURL", "127.0.0.1:8880", "http://ca.home.lan:8880", "off", "only on loopback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.LoadOverride("", func(c *config.Config) {
				c.Server.Listen, c.Server.PublicURL, c.Server.TLS = tc.listen, tc.public, tc.tls
				if tc.tls != "off" {
					c.Server.HTTPListen = ":8880"
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			w := cfg.PublicURLWarning()
			switch {
			case tc.warn == "" && w != "":
				t.Errorf("warned %q", w)
			case tc.warn != "" && !strings.Contains(w, tc.warn):
				t.Errorf("warning %q, want one saying %q", w, tc.warn)
			case strings.Contains(w, "\n"):
				t.Errorf("warning in more than one line: %q", w)
			}
		})
	}
}
