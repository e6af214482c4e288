// Package app assembles certmaker: the service core over a store, its
// four doors (the HTTP API, ACME, the dashboard, the admin socket), the
// request log and the metrics. It is the one constructor: `serve`, every
// test that needs a running certmaker, and tools/profserve build the
// application here, so they cannot drift apart. Nothing is late-bound:
// the core is made first, then each door over it, then one mux over the
// doors.
package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"certmaker/acme"
	"certmaker/admin"
	"certmaker/api"
	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/config"
	"certmaker/core"
	"certmaker/httplog"
	"certmaker/notify"
	"certmaker/storage"
	"certmaker/web"
)

// Store is what the application keeps its state in: the core's storage
// and ACME's protocol state (one bbolt file, store.DB, holds both).
type Store interface {
	storage.Store
	notify.Store
}

// Options are what tests and tools inject; the zero value is serve's.
type Options struct {
	// Now is the clock (expiry, thisUpdate, validity); nil is time.Now.
	Now func() time.Time
	// Logger gets the request log, the audit trail and every warning;
	// nil discards them.
	Logger *slog.Logger
	// Resolver and DialContext reach the names challenges prove; nil is
	// the system's.
	Resolver    challenge.Resolver
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// KeyGenLimit bounds concurrent RSA key generations; 0 is the core's
	// default.
	KeyGenLimit int
	// Version is shown in the dashboard.
	Version string
	// NoDashboard leaves the dashboard out (tools that measure the API).
	NoDashboard bool
	// TLSRenewEvery is how often the CA's own server certificate (tls =
	// "self") is checked for renewal; 0 is a minute.
	TLSRenewEvery time.Duration
}

// App is a certmaker, ready to serve.
type App struct {
	// Core is the service core every door calls.
	Core *core.Service
	// Public serves the API, ACME and the dashboard, with the request log.
	Public http.Handler
	// Admin serves the admin socket's protocol.
	Admin http.Handler
	// Metrics serves Prometheus metrics (mounted on its own address).
	Metrics http.Handler
	// Operator runs admin operations in this process, as the socket does.
	Operator *admin.Local
	// TLS is the HTTPS configuration of Public, nil with [server] tls off.
	TLS *tls.Config
	// Plain serves http_listen when TLS is on: OCSP, CRLs and the CA's
	// certificates, and a redirect to HTTPS for everything else.
	Plain http.Handler

	log      *slog.Logger
	cfg      config.Config
	notifier *notify.Notifier
	self     *selfCert // the CA's own server certificate, with tls = "self"
	opts     Options
}

// NewCore builds the service core over st as cfg says, with the roots st
// holds loaded; no doors. Admin commands on the file use it alone.
func NewCore(cfg config.Config, st storage.Store, o Options) (*core.Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	authority, err := ca.New(ca.Config{
		PublicURL:   cfg.Server.PublicURL,
		CertURL:     cfg.CertURL(),
		DefaultDays: cfg.Certificates.DefaultDays,
		MinDays:     cfg.Certificates.MinDays,
		MaxDays:     cfg.Certificates.MaxDays,
		Now:         o.Now,
	})
	if err != nil {
		return nil, err
	}
	rootCfg, err := RootConfig(cfg)
	if err != nil {
		return nil, err
	}
	checker, err := newChecker(cfg, o)
	if err != nil {
		return nil, err
	}
	svc, err := core.New(core.Config{
		Store:             st,
		Authority:         authority,
		Checker:           checker,
		Logger:            o.Logger,
		Root:              rootCfg,
		ChallengeRequired: cfg.Challenge.Required,
		ChallengePort:     cfg.Challenge.DefaultPort,
		ChallengeExpiry:   cfg.Challenge.Expiry.Duration,
		MaxPending:        cfg.Challenge.MaxPending,
		KeyGenLimit:       o.KeyGenLimit,
		ExpiryWarningDays: cfg.CA.ExpiryWarningDays,
		ACME: core.ACMEConfig{
			Enabled:       cfg.ACME.Enabled,
			RequireEAB:    cfg.ACME.RequireEAB,
			DefaultUser:   cfg.ACME.DefaultUser,
			HTTP01Port:    cfg.ACME.HTTP01Port,
			TLSALPN01Port: cfg.ACME.TLSALPN01Port,
			Days:          cfg.ACME.Days,

			MaxAccountIdentifiers:  cfg.ACME.MaxAccountIdentifiers,
			MaxUnboundAccounts:     cfg.ACME.MaxUnboundAccounts,
			ClusterNoncesPerMinute: cfg.ACME.ClusterNoncesPerMinute,
			MaxUnboundCertificates: cfg.ACME.MaxUnboundCertificates,
		},
		DefaultPolicy: defaultPolicy(cfg.Policy.Default),
	})
	if err != nil {
		return nil, err
	}
	if _, err := svc.LoadRoots(); err != nil {
		return nil, err
	}
	return svc, nil
}

// New builds the whole application over st: the core (making the first
// root if st has none), the doors, and one mux over them.
func New(cfg config.Config, st Store, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := NewCore(cfg, st, o)
	if err != nil {
		return nil, err
	}
	if err := EnsureRoot(context.Background(), svc, o.Logger); err != nil {
		return nil, err
	}
	a := &App{Core: svc, log: o.Logger, cfg: cfg, Operator: &admin.Local{Core: svc}, opts: o}
	if a.notifier, err = NewNotifier(cfg, st, svc.Authority(), o.Logger); err != nil {
		return nil, err
	}
	apiDoor, err := api.New(api.Config{Core: svc, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	acmeDoor, err := newACME(cfg, svc, o.Logger)
	if err != nil {
		return nil, err
	}
	var dashboard http.Handler
	if !o.NoDashboard {
		if dashboard, err = web.New(web.Config{Core: svc, PublicURL: cfg.Server.PublicURL, Logger: o.Logger, Version: o.Version}); err != nil {
			return nil, err
		}
	}
	requests := httplog.New(o.Logger, svc.Registry())
	a.Public = requests.Wrap(mux(apiDoor, acmeDoor, dashboard))
	if a.TLS, a.self, err = newTLS(cfg, svc, o.Logger); err != nil {
		return nil, err
	}
	if a.TLS != nil {
		a.Plain = plainHandler(a.Public, cfg.Server.PublicURL)
		a.Public = strictTransport(a.Public)
	}
	a.Admin = admin.Handler(a.Operator)
	a.Metrics = promhttp.HandlerFor(svc.Registry(), promhttp.HandlerOpts{})
	return a, nil
}

// Bootstrap is the actor of what a new CA makes for itself.
var Bootstrap = core.Actor{Door: core.DoorServe, User: "certmaker"}

// EnsureRoot gives a store without an active root its first one; of the
// nodes of a cluster started at one moment, one makes it and the others
// load it.
func EnsureRoot(ctx context.Context, svc *core.Service, log *slog.Logger) error {
	if svc.Authority().Active() != nil {
		return nil
	}
	return svc.Once(ctx, "root", func() error {
		if active, err := svc.LoadRoots(); err != nil || active {
			return err // another node made it while this one waited
		}
		r, err := svc.RotateRoot(ctx, Bootstrap)
		if err != nil {
			return err
		}
		log.Info("created root CA", "fingerprint", r.Fingerprint, "subject", r.Cert.Subject.String())
		return nil
	})
}

// mux sends every path to its door: /acme/ to ACME, /api, /api/,
// /healthz, /roots.pem and /intermediate.pem to the API, everything else
// to the dashboard. A door left out
// (nil) leaves its paths to the API, which answers 404.
func mux(apiDoor, acmeDoor, dashboard http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case acmeDoor != nil && strings.HasPrefix(p, "/acme/"):
			httplog.SetRoute(r, "/acme/")
			acmeDoor.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/roots.pem" || p == "/intermediate.pem" || dashboard == nil:
			apiDoor.ServeHTTP(w, r)
		default:
			httplog.SetRoute(r, "/")
			dashboard.ServeHTTP(w, r)
		}
	})
}

// newACME builds the ACME door, or returns nil when [acme] is disabled.
func newACME(cfg config.Config, svc *core.Service, log *slog.Logger) (http.Handler, error) {
	if !cfg.ACME.Enabled {
		return nil, nil
	}
	if err := svc.CheckPort(cfg.ACME.HTTP01Port); err != nil {
		// Not fatal: a config from before ACME may restrict ports for the
		// simple API only; authorizations offer the other challenges.
		log.Warn("acme.http01_port is not one of challenge.allowed_ports: http-01 is not offered", "err", err)
	}
	if err := svc.CheckPort(cfg.ACME.TLSALPN01Port); err != nil {
		log.Warn("acme.tls_alpn01_port is not one of challenge.allowed_ports: tls-alpn-01 is not offered", "err", err)
	}
	srv, err := acme.New(acme.Config{Core: svc, Logger: log})
	if err != nil {
		return nil, err
	}
	log.Info("ACME enabled", "directory", cfg.Server.PublicURL+"/acme/directory",
		"require_eab", cfg.ACME.RequireEAB, "http01_port", cfg.ACME.HTTP01Port)
	return srv, nil
}

func newChecker(cfg config.Config, o Options) (*challenge.Checker, error) {
	denied, err := cfg.DeniedNetworks()
	if err != nil {
		return nil, err
	}
	hosts, err := cfg.Hosts()
	if err != nil {
		return nil, err
	}
	resolvers, err := cfg.DNSResolvers()
	if err != nil {
		return nil, err
	}
	return challenge.New(challenge.Config{
		DNSServers:     resolvers,
		Timeout:        cfg.Challenge.Timeout.Duration,
		AllowedPorts:   cfg.Challenge.AllowedPorts,
		DeniedNetworks: denied,
		Hosts:          hosts,
		Resolver:       o.Resolver,
		DialContext:    o.DialContext,
		Concurrency:    cfg.Challenge.Concurrency,
	})
}

// defaultPolicy is [policy.default] as the core stores a policy; the core
// checks it when it starts.
func defaultPolicy(p config.UserPolicy) storage.Policy {
	ch := p.Challenge
	if ch == "default" {
		ch = core.ChallengeDefault
	}
	return storage.Policy{Allow: p.Allow, Deny: p.Deny, MaxDays: p.MaxDays, KeyTypes: p.KeyTypes, Challenge: ch}
}

// RootConfig is what new roots look like, from [ca].
func RootConfig(cfg config.Config) (ca.RootConfig, error) {
	nc, err := cfg.NameConstraints()
	if err != nil {
		return ca.RootConfig{}, fmt.Errorf("config: %w", err)
	}
	return ca.RootConfig{
		KeyType:      ca.KeyType(cfg.CA.KeyType),
		Days:         cfg.CA.Days,
		CommonName:   cfg.CA.CommonName,
		Organization: cfg.CA.Organization,
		Country:      cfg.CA.Country,
		Constraints:  nc,

		IntermediateDays: cfg.CA.IntermediateDays,
		IntermediateName: cfg.CA.IntermediateCommonName,
	}, nil
}

// ServeHTTP serves the public doors, as Public does.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.Public.ServeHTTP(w, r) }

// MetricsHandler serves the Prometheus metrics, as Metrics does.
func (a *App) MetricsHandler() http.Handler { return a.Metrics }
