package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// validateBackend checks [store] backend and, for etcd, [store.etcd].
func (s *Store) validateBackend() error {
	switch s.Backend {
	case "", "bbolt":
		s.Backend = "bbolt"
		return nil
	case "etcd":
	default:
		return fmt.Errorf("store.backend %q: want \"bbolt\" or \"etcd\"", s.Backend)
	}
	e := s.Etcd
	if len(e.Endpoints) == 0 {
		return fmt.Errorf("store.etcd.endpoints is empty: with backend = \"etcd\", name the cluster's members, such as [\"https://etcd1.home.lan:2379\"]")
	}
	for _, ep := range e.Endpoints {
		if err := checkEndpoint(ep); err != nil {
			return err
		}
	}
	if e.Prefix != "" && !strings.HasPrefix(e.Prefix, "/") {
		return fmt.Errorf("store.etcd.prefix %q: want a key prefix starting with /, such as \"/certmaker/\"", e.Prefix)
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		return fmt.Errorf("store.etcd.cert_file and store.etcd.key_file: give both (this node's client certificate and its key) or neither")
	}
	if (e.Username == "") != (e.Password == "") {
		return fmt.Errorf("store.etcd.username and store.etcd.password: give both or neither")
	}
	if e.DialTimeout.Duration < 0 || e.RequestTimeout.Duration < 0 {
		return fmt.Errorf("store.etcd.dial_timeout and request_timeout must not be negative")
	}
	return nil
}

// checkEndpoint accepts http(s)://host:port or host:port.
func checkEndpoint(ep string) error {
	hostport := ep
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
			return fmt.Errorf("store.etcd.endpoints: %q: want https://host:port or host:port", ep)
		}
		hostport = u.Host
	}
	if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" {
		return fmt.Errorf("store.etcd.endpoints: %q: want https://host:port or host:port", ep)
	}
	return nil
}

// TLS reports whether the etcd client speaks TLS: a CA file, a client
// certificate, or an https endpoint says so.
func (e Etcd) TLS() bool {
	if e.CAFile != "" || e.CertFile != "" {
		return true
	}
	for _, ep := range e.Endpoints {
		if strings.HasPrefix(ep, "https://") {
			return true
		}
	}
	return false
}
