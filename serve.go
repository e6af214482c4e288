package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/acme"
	"certmaker/admin"
	"certmaker/api"
	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/config"
	"certmaker/store"
	"certmaker/web"
)

func cmdServe(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	if v := c.String("listen"); v != "" {
		cfg.Server.Listen = v
	}
	if v := c.String("public-url"); v != "" {
		cfg.Server.PublicURL = v
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	level, _ := cfg.Server.Level() // checked by Validate
	log := newLogger(cfg.Server.LogFormat, level)
	tuneGC()

	noSync, err := unsafeNoSync(log)
	if err != nil {
		return err
	}
	db, err := store.Open(cfg.Store.Path, store.Options{Timeout: time.Second, UnsafeNoSync: noSync})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s is in use: is another certmaker serving it?", cfg.Store.Path)
	}
	if err != nil {
		return err
	}
	defer db.Close()

	authority, err := ca.New(ca.Config{
		PublicURL:   cfg.Server.PublicURL,
		DefaultDays: cfg.Certificates.DefaultDays,
		MinDays:     cfg.Certificates.MinDays,
		MaxDays:     cfg.Certificates.MaxDays,
	})
	if err != nil {
		return err
	}
	if err := bootstrap(db, authority, cfg, log); err != nil {
		return err
	}
	checker, err := newChecker(cfg)
	if err != nil {
		return err
	}
	// The ACME server issues through the API server, which mounts it: it
	// gets an issuer that is pointed at the API server below, before
	// anything is served.
	acmeIssuer := &lateIssuer{}
	acmeHandler, err := newACME(cfg, db, authority, acmeIssuer, checker, log)
	if err != nil {
		return err
	}
	// The dashboard calls the API server and the API serves the dashboard,
	// so the API gets a handler that forwards to the dashboard built below,
	// before anything is served.
	var dashboard http.Handler
	srv, err := api.New(api.Config{
		Web:               http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { dashboard.ServeHTTP(w, r) }),
		Store:             db,
		Authority:         authority,
		Logger:            log,
		Checker:           checker,
		ChallengeRequired: cfg.Challenge.Required,
		ChallengePort:     cfg.Challenge.DefaultPort,
		ChallengeExpiry:   cfg.Challenge.Expiry.Duration,
		ACME:              acmeHandler,
	})
	if err != nil {
		return err
	}
	acmeIssuer.Server = srv

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	ops := &admin.Ops{DB: db, Authority: authority, Root: rootConfig(cfg), OnRevoke: srv.CountRevocation}
	dashboard, err = web.New(web.Config{
		Issuer:    srv,
		Store:     db,
		Operator:  ops,
		Authority: authority,
		PublicURL: cfg.Server.PublicURL,
		Logger:    log,
		Version:   version,
	})
	if err != nil {
		ln.Close()
		return err
	}
	adminLn, err := listenAdmin(admin.SocketPath(cfg.Store.Path))
	if err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(adminLn.Addr().String())

	public := api.NewHTTPServer(srv, log)
	// No write timeout here: a backup streams the whole file over the socket.
	private := &http.Server{Handler: admin.Handler(ops), ReadHeaderTimeout: 10 * time.Second}

	// Every listener is open before anything is served, so a failure here
	// returns before a request can be in flight.
	var metricsSrv *http.Server
	var metricsLn net.Listener
	if cfg.Metrics.Listen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.Metrics.Listen); err != nil {
			ln.Close()
			adminLn.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", srv.MetricsHandler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		defer metricsSrv.Close()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 3) // public, admin, metrics: none may block on exit
	go func() { errc <- public.Serve(ln) }()
	go func() { errc <- private.Serve(adminLn) }()
	if metricsSrv != nil {
		go func() { errc <- metricsSrv.Serve(metricsLn) }()
		log.Info("serving metrics", "addr", metricsLn.Addr().String())
	}
	go sweepChallenges(ctx, db, authority, log)
	go releaseMapped(ctx, db, log)
	warnRootExpiry(authority, cfg.CA.ExpiryWarningDays, log)
	go watchRootExpiry(ctx, authority, cfg.CA.ExpiryWarningDays, log)
	log.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.Server.PublicURL,
		"db", cfg.Store.Path, "root", authority.Active().Fingerprint, "challenge_required", cfg.Challenge.Required)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	}
	// A second signal kills at once, for an operator who cannot wait.
	stop()
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// In-flight requests finish (and commit) before the database closes:
	// Shutdown returns once every handler has returned. Both servers stop
	// accepting at once; the admin one may be streaming a backup.
	var errPublic, errPrivate error
	done := make(chan struct{})
	go func() { errPrivate = private.Shutdown(shutdownCtx); close(done) }()
	errPublic = public.Shutdown(shutdownCtx)
	<-done
	if err := errors.Join(errPublic, errPrivate); err != nil {
		// Handlers still running after the grace period would use the
		// database as it closes; cut their connections first. Every
		// commit that was answered is already on disk.
		public.Close()
		private.Close()
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}

// unsafeNoSyncEnv set to exactly "1" opens the store without fsync, so
// that a power cut loses acknowledged certificates: only the power-cut
// tests' negative control sets it, to prove that their harness can see a
// loss. Any other value stops the start, lest a typo run a CA this way.
const unsafeNoSyncEnv = "CERTMAKER_TEST_UNSAFE_NOSYNC"

func unsafeNoSync(log *slog.Logger) (bool, error) {
	switch v := os.Getenv(unsafeNoSyncEnv); v {
	case "":
		return false, nil
	case "1":
		log.Warn("the store is opened WITHOUT fsync: a power cut loses acknowledged certificates (test only)", "env", unsafeNoSyncEnv)
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: only 1 is accepted, and only by tests (it loses acknowledged certificates on power loss); unset it", unsafeNoSyncEnv, v)
	}
}

// shutdownTimeout is how long SIGTERM waits for requests in flight; the
// slowest (RSA-4096 behind a full queue) take seconds, not tens of them.
const shutdownTimeout = 30 * time.Second

// tuneGC trades memory the server has plenty of for CPU: issuing allocates
// a few kilobytes per certificate, and at Go's default GOGC=100 the
// collector ran so often that it took a tenth of the CPU under load. GOGC
// 400 keeps the heap in the tens of MB under load; the 256 MiB soft limit
// bounds it, the collector working harder as the limit nears, and leaves
// room for a full OCSP answer cache (100,000 answers, under 100 MB) without
// collecting constantly. The GOGC and GOMEMLIMIT environment variables
// still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}

func newLogger(format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// bootstrap gives a new database its first root and its first admin, whose
// token is printed once, on stderr, and stored only as a hash.
func bootstrap(db *store.DB, authority *ca.Authority, cfg config.Config, log *slog.Logger) error {
	hasActive, err := admin.LoadRoots(db, authority)
	if err != nil {
		return err
	}
	if !hasActive {
		r, err := admin.CreateRoot(db, rootConfig(cfg), time.Now())
		if err != nil {
			return err
		}
		authority.AddRoot(r, true)
		log.Info("created root CA", "fingerprint", r.Fingerprint, "subject", r.Cert.Subject.String())
	}
	n, err := db.CountUsers()
	if err != nil {
		return err
	}
	if n == 0 {
		ops := &admin.Ops{DB: db}
		token, err := ops.AddUser(context.Background(), "admin", true)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nCreated the admin user. Its API token is shown only this once:\n\n    %s\n\n", token)
	}
	return nil
}

// lateIssuer lets the ACME server issue through the API server that
// mounts it; Server is set once both exist, before serving starts.
type lateIssuer struct{ *api.Server }

// newACME builds the ACME server, or returns nil when [acme] is disabled.
func newACME(cfg config.Config, db *store.DB, authority *ca.Authority, issuer acme.Issuer, checker *challenge.Checker, log *slog.Logger) (http.Handler, error) {
	if !cfg.ACME.Enabled {
		return nil, nil
	}
	if !cfg.ACME.RequireEAB {
		if _, err := db.User(cfg.ACME.DefaultUser); errors.Is(err, store.ErrNotFound) {
			log.Warn("acme.default_user does not exist yet: ACME accounts without a binding are refused until it does",
				"user", cfg.ACME.DefaultUser)
		}
	}
	if err := checker.PortAllowed(cfg.ACME.HTTP01Port); err != nil {
		// Not fatal: a config from before ACME may restrict ports for the
		// simple API only; every http-01 check will fail and say why.
		log.Warn("acme.http01_port is not one of challenge.allowed_ports: http-01 challenges will fail", "err", err)
	}
	srv, err := acme.New(acme.Config{
		Store:       db,
		Authority:   authority,
		Issuer:      issuer,
		Checker:     checker,
		Logger:      log,
		RequireEAB:  cfg.ACME.RequireEAB,
		DefaultUser: cfg.ACME.DefaultUser,
		HTTP01Port:  cfg.ACME.HTTP01Port,
		Days:        cfg.ACME.Days,
		Expiry:      cfg.Challenge.Expiry.Duration,
	})
	if err != nil {
		return nil, err
	}
	log.Info("ACME enabled", "directory", cfg.Server.PublicURL+"/acme/directory",
		"require_eab", cfg.ACME.RequireEAB, "http01_port", cfg.ACME.HTTP01Port)
	return srv, nil
}

func newChecker(cfg config.Config) (*challenge.Checker, error) {
	denied, err := cfg.DeniedNetworks()
	if err != nil {
		return nil, err
	}
	hosts, err := cfg.Hosts()
	if err != nil {
		return nil, err
	}
	return challenge.New(challenge.Config{
		Timeout:        cfg.Challenge.Timeout.Duration,
		AllowedPorts:   cfg.Challenge.AllowedPorts,
		DeniedNetworks: denied,
		Hosts:          hosts,
		Concurrency:    cfg.Challenge.Concurrency,
	})
}

// listenAdmin opens the admin socket, readable by the owner only. We hold
// the database lock, so a socket file already there is a dead server's.
func listenAdmin(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing stale admin socket: %w", err)
	}
	// The umask makes the socket 0600 from its creation, with no window in
	// which another user could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// watchRootExpiry warns daily while the active root is within warnDays of
// its end; serve also warns once at start, before it says it serves.
func watchRootExpiry(ctx context.Context, a *ca.Authority, warnDays int, log *slog.Logger) {
	if warnDays <= 0 {
		return
	}
	tick := time.NewTicker(24 * time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			warnRootExpiry(a, warnDays, log)
		}
	}
}

// warnRootExpiry logs a warning if the active root ends within warnDays: a
// root that expires takes every certificate with it, and rotating needs
// clients to trust the new root first.
func warnRootExpiry(a *ca.Authority, warnDays int, log *slog.Logger) {
	r := a.Active()
	if r == nil || warnDays <= 0 {
		return
	}
	if left := r.Cert.NotAfter.Sub(a.Now()); left < time.Duration(warnDays)*24*time.Hour {
		log.Warn("the active root CA expires soon: run `certmaker rotate-root` and distribute the new root",
			"root", r.Fingerprint, "not_after", r.Cert.NotAfter, "days_left", int(left.Hours()/24))
	}
}

// challengeRetention is how long a challenge stays after it expires, so
// that a client that solved it can still ask again for its answer.
const challengeRetention = 24 * time.Hour

// releaseMapped keeps the database's mmap'd pages from piling up in the
// server's resident set (store.DB.ReleaseMapped): under sustained issuance
// every page a commit reads stays counted, and each fault maps the 64 KiB
// around it, so on a large file whose free pages lie scattered RSS grew by
// tens of MB a second. Once a second costs a page-table walk of the file's
// mapping (about 0.1 ms on a 2.4 GB file) and bounds RSS to tens of MB.
func releaseMapped(ctx context.Context, db *store.DB, log *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := db.ReleaseMapped(); err != nil {
			log.Warn("releasing mapped database pages", "err", err)
		}
	}
}

// sweepChallenges deletes long-expired challenges hourly, so requests that
// were never solved do not pile up in the file.
func sweepChallenges(ctx context.Context, db *store.DB, a *ca.Authority, log *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := db.DeleteChallengesExpiredBefore(a.Now().Add(-challengeRetention)); err != nil {
			log.Error("sweeping expired challenges", "err", err)
		} else if n > 0 {
			log.Info("swept expired challenges", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
