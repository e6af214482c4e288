package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// The public URL is written into every certificate and Location header,
// so a wrong one is expensive. Without public_url it is derived from
// listen: that host (localhost for a wildcard address such as ":8880")
// and port, https with tls on. A public_url given is checked against
// listen only to warn: a proxy may stand between them.

// derivePublicURL is the public URL of a server listening on listen.
func derivePublicURL(listen string, tls bool) string {
	host, port, _ := net.SplitHostPort(listen) // checked by Validate first
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme, defaultPort := "http", "80"
	if tls {
		scheme, defaultPort = "https", "443"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port)}
	if port == defaultPort {
		u.Host = host
		if strings.Contains(host, ":") {
			u.Host = "[" + host + "]"
		}
	}
	return u.String()
}

// Bound tells the configuration the address its listener got: a public URL
// derived from a listen port 0 takes the port the system chose.
func (c *Config) Bound(addr net.Addr) {
	_, port, err := net.SplitHostPort(c.Server.Listen)
	if c.Server.PublicURL != c.Server.derivedURL || err != nil || port != "0" {
		return
	}
	_, got, err := net.SplitHostPort(addr.String())
	if err != nil {
		return
	}
	host, _, _ := net.SplitHostPort(c.Server.Listen)
	c.Server.PublicURL = derivePublicURL(net.JoinHostPort(host, got), c.Server.TLS != TLSOff)
	c.Server.derivedURL = c.Server.PublicURL
}

// PublicURLWarning says, in one line, why public_url cannot reach this
// server, or "" when it can or may. The rules: a public URL derived from
// listen always can; one whose scheme differs from what listen serves
// (https in front of plain HTTP) is a proxy's, which certmaker cannot
// see, so it is trusted; otherwise its port must be listen's port, a
// loopback host (localhost, 127.0.0.1, ::1) needs a listener on
// loopback, and a listener only on loopback is reached by nothing but a
// loopback URL.
func (c *Config) PublicURLWarning() string {
	s := c.Server
	if s.PublicURL == s.derivedURL {
		return ""
	}
	u, err := url.Parse(s.PublicURL)
	lhost, lport, err2 := net.SplitHostPort(s.Listen)
	if err != nil || err2 != nil {
		return ""
	}
	serves := "http"
	if s.TLS != TLSOff {
		serves = "https"
	}
	if u.Scheme != serves || lport == "0" {
		return ""
	}
	pport := u.Port()
	if pport == "" {
		pport = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	switch {
	case pport != lport:
		return fmt.Sprintf("server.public_url %s names port %s, but certmaker listens on %s: the URLs it hands out and writes into certificates miss this server unless something forwards port %s to it", s.PublicURL, pport, s.Listen, pport)
	case loopback(u.Hostname()) && lhost != "" && !loopback(lhost) && !unspecified(lhost):
		return fmt.Sprintf("server.public_url %s is this machine's loopback, but certmaker listens only on %s: nothing reaches it there; set public_url to the name clients use", s.PublicURL, s.Listen)
	case !loopback(u.Hostname()) && loopback(lhost):
		return fmt.Sprintf("certmaker listens only on loopback (%s), so other machines cannot reach %s unless a proxy on this host forwards to it", s.Listen, s.PublicURL)
	}
	return ""
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func unspecified(host string) bool {
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}
