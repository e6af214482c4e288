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
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/api"
	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/config"
	"certmaker/store"
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
	log := newLogger(cfg.Server.LogFormat)

	db, err := store.Open(cfg.Store.Path, store.Options{Timeout: time.Second})
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
	srv, err := api.New(api.Config{
		Store:             db,
		Authority:         authority,
		Logger:            log,
		Checker:           checker,
		ChallengeRequired: cfg.Challenge.Required,
		ChallengePort:     cfg.Challenge.DefaultPort,
		ChallengeExpiry:   cfg.Challenge.Expiry.Duration,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	ops := &admin.Ops{DB: db, Authority: authority, Root: rootConfig(cfg)}
	adminLn, err := listenAdmin(admin.SocketPath(cfg.Store.Path))
	if err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(adminLn.Addr().String())

	public := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// RSA-4096 key generation under load can take several seconds.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	private := &http.Server{Handler: admin.Handler(ops), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- public.Serve(ln) }()
	go func() { errc <- private.Serve(adminLn) }()
	log.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.Server.PublicURL,
		"db", cfg.Store.Path, "root", authority.Active().Fingerprint, "challenge_required", cfg.Challenge.Required)

	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// In-flight requests finish (and commit) before the database closes.
	errPublic := public.Shutdown(shutdownCtx)
	errPrivate := private.Shutdown(shutdownCtx)
	if err := errors.Join(errPublic, errPrivate); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
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
