package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
)

// HTTPS, with [server] tls: "self" serves a certificate the CA issues for
// its own public host and renews before two thirds of its life; "files"
// serves a certificate and key from files and reloads them when they
// change. Either way the certificate is swapped under running connections
// by GetCertificate, never by a restart.

// selfCert is the CA's own server certificate.
type selfCert struct {
	core *core.Service
	host string
	log  *slog.Logger
	cur  atomic.Pointer[servedCert]
}

type servedCert struct {
	cert    *tls.Certificate
	serial  string
	issuer  string
	renewAt time.Time
}

func newSelfCert(svc *core.Service, publicURL string, log *slog.Logger) (*selfCert, error) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, err
	}
	m := &selfCert{core: svc, host: u.Hostname(), log: log}
	if err := m.renew(context.Background()); err != nil {
		return nil, fmt.Errorf("tls = \"self\": %w", err)
	}
	return m, nil
}

// renew gets a new certificate when the one served is due, or was signed
// by an intermediate that no longer issues.
func (m *selfCert) renew(ctx context.Context) error {
	active := m.core.Authority().Active()
	if cur := m.cur.Load(); cur != nil && m.core.Now().Before(cur.renewAt) && active != nil && cur.issuer == active.Fingerprint {
		return nil
	}
	c, err := m.core.ServerCertificate(ctx, m.host)
	if err != nil {
		return err
	}
	// ServerCertificate hands over the key with the certificate; no door
	// can export it (core.PrivateKeyPEM refuses the CA's own keys).
	if c.KeyPKCS8 == nil {
		return fmt.Errorf("the server certificate %s has no key", c.Serial)
	}
	pair, err := tls.X509KeyPair(m.core.ChainPEM(c), ca.KeyPEM(c.KeyPKCS8))
	if err != nil {
		return fmt.Errorf("the server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return err
	}
	pair.Leaf = leaf
	prev := m.cur.Swap(&servedCert{cert: &pair, serial: c.Serial.String(), issuer: c.Root, renewAt: core.RenewAt(leaf.NotBefore, leaf.NotAfter)})
	if prev == nil || prev.serial != c.Serial.String() {
		m.log.Info("serving HTTPS with the CA's own certificate", "host", m.host, "id", c.Serial.String(), "not_after", leaf.NotAfter)
	}
	return nil
}

func (m *selfCert) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := m.cur.Load(); c != nil {
		return c.cert, nil
	}
	return nil, errors.New("no server certificate")
}

// fileCert is a certificate and key from files, reloaded when they change:
// checked at most once a second, on a handshake.
type fileCert struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func newFileCert(certFile, keyFile string, log *slog.Logger) (*fileCert, error) {
	f := &fileCert{certFile: certFile, keyFile: keyFile, log: log, now: time.Now}
	stamp, err := f.stampNow()
	if err != nil {
		return nil, fmt.Errorf("tls = \"files\": %w", err)
	}
	if err := f.load(stamp); err != nil {
		return nil, fmt.Errorf("tls = \"files\": %w", err)
	}
	return f, nil
}

// stampNow says when and how the two files last changed.
func (f *fileCert) stampNow() (string, error) {
	var s string
	for _, p := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%s %d %d;", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// load reads both files; f.mu is held (or f is not shared yet).
func (f *fileCert) load(stamp string) error {
	pair, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("loading %s and %s: %w", f.certFile, f.keyFile, err)
	}
	f.cert, f.stamp = &pair, stamp
	if pair.Leaf != nil {
		f.log.Info("serving HTTPS with the certificate from files", "cert", f.certFile, "subject", pair.Leaf.Subject.String(), "not_after", pair.Leaf.NotAfter)
	}
	return nil
}

func (f *fileCert) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := f.now(); now.Sub(f.checked) >= time.Second {
		f.checked = now
		if stamp, err := f.stampNow(); err == nil && stamp != f.stamp {
			// A pair half written (a key for the old certificate) fails
			// to load: keep serving the old one until both agree.
			if err := f.load(stamp); err != nil {
				f.log.Warn("the TLS files changed but do not load yet; serving the previous certificate", "err", err)
			}
		}
	}
	return f.cert, nil
}

// hstsMaxAge is a year, what browsers' preload lists ask for; a browser
// heeds the header only from a connection whose certificate it trusts
// (RFC 6797 8.1), so one that has not installed the root is not locked
// out. No includeSubDomains: other hosts under the CA's name are not its
// to promise.
const hstsMaxAge = "max-age=31536000"

// strictTransport tells browsers to reach the CA over HTTPS only, on
// every answer sent over TLS; the plain-HTTP listener never says it
// (RFC 6797 7.2).
func strictTransport(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hstsMaxAge)
		}
		h.ServeHTTP(w, r)
	})
}

// newTLS builds the HTTPS configuration of cfg, nil with tls off.
func newTLS(cfg config.Config, svc *core.Service, log *slog.Logger) (*tls.Config, *selfCert, error) {
	var get func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	var self *selfCert
	switch cfg.Server.TLS {
	case config.TLSSelf:
		m, err := newSelfCert(svc, cfg.Server.PublicURL, log)
		if err != nil {
			return nil, nil, err
		}
		self, get = m, m.getCertificate
	case config.TLSFiles:
		f, err := newFileCert(cfg.Server.TLSCertFile, cfg.Server.TLSKeyFile, log)
		if err != nil {
			return nil, nil, err
		}
		get = f.getCertificate
	default:
		return nil, nil, nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: get, NextProtos: []string{"h2", "http/1.1"}}, self, nil
}
