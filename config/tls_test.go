package config_test

import (
	"strings"
	"testing"

	"certmaker/config"
)

func TestValidate_TLS(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*config.Server)
		err     string // "" is valid
		certURL string
	}{
		{name: "Off", set: func(*config.Server) {}, certURL: "http://localhost:8880"},
		{name: "OffBehindProxy", set: func(s *config.Server) { s.PublicURL = "https://ca.home.lan" }, certURL: "https://ca.home.lan"},
		{name: "OffWithHTTPListen", set: func(s *config.Server) { s.HTTPListen = ":8880" }, err: "server.http_listen"},
		{name: "Self", set: func(s *config.Server) {
			s.TLS, s.PublicURL, s.Listen, s.HTTPListen = "self", "https://ca.home.lan:8443", ":8443", ":8880"
		}, certURL: "http://ca.home.lan:8880"},
		{name: "SelfPort80", set: func(s *config.Server) {
			s.TLS, s.PublicURL, s.Listen, s.HTTPListen = "self", "https://ca.home.lan", ":443", ":80"
		}, certURL: "http://ca.home.lan"},
		{name: "SelfIPv6", set: func(s *config.Server) {
			s.TLS, s.PublicURL, s.Listen, s.HTTPListen = "self", "https://[fd00::1]:8443", ":8443", ":80"
		}, certURL: "http://[fd00::1]"},
		{name: "SelfHTTPPublicURL", set: func(s *config.Server) {
			s.TLS, s.PublicURL, s.HTTPListen, s.HTTPPublicURL = "self", "https://ca.home.lan:8443", ":8880", "http://ocsp.home.lan/"
		}, certURL: "http://ocsp.home.lan"},
		{name: "SelfHTTPURL", set: func(s *config.Server) { s.TLS, s.PublicURL, s.HTTPListen = "self", "http://ca.home.lan", ":8880" }, err: "must be an https URL"},
		{name: "SelfDerived", set: func(s *config.Server) { s.TLS, s.Listen, s.HTTPListen = "self", ":8443", ":8880" }, certURL: "http://localhost:8880"},
		{name: "SelfNoHTTPListen", set: func(s *config.Server) { s.TLS, s.PublicURL = "self", "https://ca.home.lan" }, err: "server.http_listen"},
		{name: "FilesWithoutFiles", set: func(s *config.Server) {
			s.TLS, s.PublicURL, s.HTTPListen = "files", "https://ca.home.lan", ":8880"
		}, err: "tls_cert_file"},
		{name: "BadMode", set: func(s *config.Server) { s.TLS = "on" }, err: "server.tls"},
		{name: "BadHTTPPublicURL", set: func(s *config.Server) {
			s.TLS, s.PublicURL, s.HTTPListen, s.HTTPPublicURL = "self", "https://ca.home.lan", ":8880", "https://x"
		}, err: "server.http_public_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			tc.set(&cfg.Server)
			err := cfg.Validate()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Validate = %v, want an error naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.CertURL(); got != tc.certURL {
				t.Errorf("CertURL = %q, want %q", got, tc.certURL)
			}
		})
	}
}
