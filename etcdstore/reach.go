package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"certmaker/storage"
)

// reach makes the first request to the cluster within dial: clientv3.New
// does not wait for a connection (unless it signs in), so without this a
// cluster that is not there costs the first request's whole
// request_timeout. A failure names the endpoints and what each one did.
func (db *DB) reach(o Options, dial time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), dial)
	defer cancel()
	_, err := db.cli.Get(ctx, db.key(tMeta, kSchema))
	if err == nil {
		return nil
	}
	return unreachable(o, dial, err)
}

// unreachable says why the cluster did not answer the first request
// within dial: a refused sign-in or permission as etcd said it, a timeout
// by probing each endpoint (refused, no TLS where the client speaks it,
// TLS where it does not, a certificate the handshake refused).
func unreachable(o Options, dial time.Duration, err error) error {
	eps := strings.Join(o.Endpoints, ",")
	switch {
	case errors.Is(err, rpctypes.ErrAuthFailed):
		return fmt.Errorf("etcd at %s refused user %q: wrong store.etcd.username or password: %w", eps, o.Username, err)
	case errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrUserEmpty), errors.Is(err, rpctypes.ErrInvalidAuthToken):
		return fmt.Errorf("etcd at %s refused access to %s (user %q): give the user a role with readwrite on the prefix: %w", eps, o.Prefix, o.Username, err)
	case !unavailable(err):
		return fmt.Errorf("etcd at %s: %w", eps, err)
	}
	causes := make([]string, len(o.Endpoints))
	for i, ep := range o.Endpoints {
		causes[i] = ep + ": " + probe(ep, o.TLS, min(dial, 2*time.Second))
	}
	return fmt.Errorf("%w: etcd at %s does not answer within dial_timeout %s (%s)", storage.ErrUnavailable, eps, dial, strings.Join(causes, "; "))
}

// probe connects to one endpoint as the client would (TLS for https://,
// plain for http://, as configured for host:port) and says what it found.
func probe(ep string, conf *tls.Config, timeout time.Duration) string {
	addr, speaksTLS := ep, conf != nil
	switch {
	case strings.HasPrefix(ep, "https://"):
		addr, speaksTLS = strings.TrimPrefix(ep, "https://"), true
	case strings.HasPrefix(ep, "http://"):
		addr, speaksTLS = strings.TrimPrefix(ep, "http://"), false
	}
	addr = strings.TrimSuffix(addr, "/")
	d := &net.Dialer{Timeout: timeout}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		return fmt.Sprintf("no connection: %v", err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(timeout))
	if !speaksTLS {
		// Does it speak TLS where the client does not?
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true}) // only asks whether it speaks TLS; nothing is sent
		if c.Handshake() == nil {
			return "it speaks TLS and the client does not (TLS mismatch): use https:// endpoints and store.etcd.ca_file"
		}
		return "it accepts connections but does not answer (no quorum, or not etcd?)"
	}
	if conf == nil {
		conf = &tls.Config{}
	}
	conf = conf.Clone()
	if conf.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			conf.ServerName = host
		}
	}
	c := tls.Client(raw, conf)
	if err := c.Handshake(); err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) || speaksHTTP(d, addr, timeout) {
			return "it speaks plain HTTP, not TLS (TLS mismatch): use an http:// endpoint, or run etcd with client TLS"
		}
		return fmt.Sprintf("TLS handshake failed: %v", err)
	}
	// A refused client certificate arrives after the handshake (TLS 1.3),
	// as an alert on the first read.
	c.SetReadDeadline(time.Now().Add(timeout / 4))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return "TLS handshake done, then the connection was closed (a client certificate refused?)"
			}
			return fmt.Sprintf("TLS refused: %v (store.etcd.cert_file and key_file: a client certificate etcd trusts)", err)
		}
	}
	return "it accepts TLS connections but does not answer (no quorum?)"
}

// speaksHTTP reports whether addr answers a plain HTTP request (etcd
// serves /version on its client port): a member without client TLS
// closes a TLS handshake without a TLS answer.
func speaksHTTP(d *net.Dialer, addr string, timeout time.Duration) bool {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "GET /version HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n"); err != nil {
		return false
	}
	b := make([]byte, 5)
	_, err = io.ReadFull(c, b)
	return err == nil && string(b) == "HTTP/"
}
