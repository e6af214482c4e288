package command

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
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/httplog"
	"certmaker/storage"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the CA's HTTP API",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Usage: "`ADDR` to listen on (overrides server.listen; default :8880, every interface)"},
			&cli.StringFlag{Name: "public-url", Usage: "base `URL` of every URL the CA hands out and writes into certificates (overrides server.public_url; default: from --listen, http://localhost:PORT for every interface, else http://HOST:PORT)"},
			&cli.StringFlag{Name: "http-listen", Usage: "with [server] tls on: plain-HTTP `ADDR` for OCSP, CRLs and the CA certificates (overrides server.http_listen)"},
		},
		Action: cmdServeGuarded,
	}
}

// cmdServeGuarded is serve, with a panic that bbolt raises on a damaged
// page while the server starts (in a file too large for Open's check)
// turned into the damaged-file line instead of a stack trace.
func cmdServeGuarded(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	return app.Guard(cfg, func() error { return cmdServe(c) })
}

func cmdServe(c *cli.Context) error {
	cfg, err := loadConfig(c) // serve's flags applied, and checked with the file
	if err != nil {
		return err
	}
	level, _ := cfg.Server.Level() // checked by Validate
	log := newLogger(cfg.Server.LogFormat, level)
	tuneGC()

	noSync, err := unsafeEnv(log, unsafeNoSyncEnv, "the store is opened WITHOUT fsync: a power cut loses acknowledged certificates (test only)", "it loses acknowledged certificates on power loss")
	if err != nil {
		return err
	}
	staleTokens, err := unsafeEnv(log, unsafeStaleTokensEnv, "the token cache ignores other nodes' changes: a user disabled or re-tokened elsewhere is let in here (test only)", "it lets disabled users in")
	if err != nil {
		return err
	}
	// Bind before the first start makes a root and prints a token: a busy
	// port must fail with nothing created, not even the database file.
	ln, err := listenTCP(cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Server.Listen, err)
	}
	defer ln.Close()
	cfg.Bound(ln.Addr())
	if w := cfg.PublicURLWarning(); w != "" {
		log.Warn(w)
	}
	var plainLn net.Listener
	if cfg.Server.HTTPListen != "" {
		if plainLn, err = listenTCP(cfg.Server.HTTPListen); err != nil {
			return fmt.Errorf("listening on %s (http_listen): %w", cfg.Server.HTTPListen, err)
		}
		defer plainLn.Close()
	}

	db, err := app.OpenStore(cfg, app.OpenOptions{Create: true, Wait: time.Second, UnsafeNoSync: noSync, UnsafeStaleTokens: staleTokens, Logger: log})
	if errors.Is(err, storage.ErrLocked) {
		return fmt.Errorf("%s is in use: is another certmaker serving it?", cfg.Store.Path)
	}
	if err != nil {
		return err
	}
	defer db.Close()

	a, err := app.New(cfg, db, app.Options{Logger: log, Version: c.App.Version})
	if err != nil {
		return err
	}
	if err := firstAdmin(c.Context, a.Core); err != nil {
		return err
	}
	adminLn, err := listenAdmin(admin.SocketPath(cfg.Store.Path))
	if err != nil {
		return err
	}
	defer os.Remove(adminLn.Addr().String())

	public := httplog.NewHTTPServer(a.Public, log)
	public.TLSConfig = a.TLS
	var plain *http.Server
	if a.Plain != nil && plainLn != nil {
		plain = httplog.NewHTTPServer(a.Plain, log)
	}
	private := admin.NewServer(a.Operator)

	// Every listener is open before anything is served, so a failure here
	// returns before a request can be in flight.
	var metricsSrv *http.Server
	var metricsLn net.Listener
	if cfg.Metrics.Listen != "" {
		if metricsLn, err = listenTCP(cfg.Metrics.Listen); err != nil {
			adminLn.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", a.Metrics)
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		defer metricsSrv.Close()
	}

	if err := announceServing(db, ln.Addr().String(), c.App.Version); err != nil {
		adminLn.Close()
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 4) // public, plain, admin, metrics: none may block on exit
	go func() {
		if a.TLS != nil {
			errc <- public.ServeTLS(ln, "", "")
			return
		}
		errc <- public.Serve(ln)
	}()
	if plain != nil {
		go func() { errc <- plain.Serve(plainLn) }()
		log.Info("serving OCSP, CRLs and the CA certificates over plain HTTP; redirecting the rest to HTTPS", "addr", plainLn.Addr().String())
	}
	go func() {
		errc <- private.Serve(admin.OwnerOnly(adminLn, func(err error) { log.Warn("admin socket: refused a connection", "err", err) }))
	}()
	if metricsSrv != nil {
		go func() { errc <- metricsSrv.Serve(metricsLn) }()
		log.Info("serving metrics", "addr", metricsLn.Addr().String())
	}
	a.Start(ctx)
	root := a.Core.Authority().ActiveRoot()
	// The fingerprint is what a client checks a downloaded root against
	// before trusting it (docs/trust-chain.md), in the form openssl and
	// phones show.
	fmt.Fprintf(os.Stderr, "\nRoot CA SHA-256 fingerprint: %s\n%s\n", ca.Colons(root.Fingerprint), downloadLines(cfg, a.TLS != nil))
	log.Info("serving", "addr", ln.Addr().String(), "public_url", cfg.Server.PublicURL, "tls", cfg.Server.TLS,
		"db", cfg.Store.Path, "root", root.Fingerprint, "root_key_online", root.Online(), "challenge_required", cfg.Challenge.Required)

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
	var errPublic, errPrivate, errPlain error
	done := make(chan struct{})
	go func() { errPrivate = private.Shutdown(shutdownCtx); close(done) }()
	if plain != nil {
		errPlain = plain.Shutdown(shutdownCtx)
	}
	errPublic = public.Shutdown(shutdownCtx)
	<-done
	if err := errors.Join(errPublic, errPrivate, errPlain); err != nil {
		// Handlers still running after the grace period would use the
		// database as it closes; cut their connections first. Every
		// commit that was answered is already on disk.
		public.Close()
		private.Close()
		if plain != nil {
			plain.Close()
		}
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

// unsafeStaleTokensEnv set to exactly "1" makes an etcd node's token cache
// ignore what its watch says: the cluster test's negative control, which
// must then see a user disabled on another node still let in here.
const unsafeStaleTokensEnv = "CERTMAKER_TEST_UNSAFE_STALE_TOKENS"

// unsafeEnv reads a test-only switch: unset is off, "1" is on (and warned
// about), anything else stops the start, lest a typo run a CA this way.
func unsafeEnv(log *slog.Logger, name, warning, harm string) (bool, error) {
	switch v := os.Getenv(name); v {
	case "":
		return false, nil
	case "1":
		log.Warn(warning, "env", name)
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: only 1 is accepted, and only by tests (%s); unset it", name, v, harm)
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

// firstAdmin gives a new CA its first admin, whose token is printed once,
// on stderr, and stored only as a hash.
// Of the nodes of a cluster started at one moment, one makes it.
func firstAdmin(ctx context.Context, svc *core.Service) error {
	return svc.Once(ctx, "admin", func() error {
		n, err := svc.CountUsers()
		if err != nil || n > 0 {
			return err
		}
		token, err := svc.AddUser(ctx, app.Bootstrap, "admin", true)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\nCreated the admin user. Its API token is shown only this once:\n\n    %s\n\n", token)
		return nil
	})
}

// downloadLines say where to get the root. With HTTPS on, browsers get
// the HTTPS URLs: HSTS covers every port of the CA's host (RFC 6797 8.3),
// so a browser that has been to the dashboard asks for https on the
// plain-HTTP port too, which fails; the plain URL is for the first
// download, before anything trusts the root, and for curl.
func downloadLines(cfg config.Config, tls bool) string {
	if !tls {
		return fmt.Sprintf("Download: %s/roots.pem (check it: certmaker root fingerprint)\n", cfg.CertURL())
	}
	public := strings.TrimRight(cfg.Server.PublicURL, "/")
	return fmt.Sprintf("Download: %s/roots.pem, or the trust page %s/trust\nBefore the root is trusted: %s/roots.pem over plain HTTP (check it: certmaker root fingerprint)\n",
		public, public, cfg.CertURL())
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

// announceServing records this node as serving a shared store (etcd),
// until the store is closed: migrate --to bbolt refuses while any node
// does.
func announceServing(st app.Store, listen, version string) error {
	ns, ok := st.(storage.Nodes)
	if !ok {
		return nil
	}
	host, _ := os.Hostname()
	return ns.Serving(storage.Node{ID: fmt.Sprintf("%s/%d", host, os.Getpid()), Host: host, Listen: listen, PID: os.Getpid(), Version: version, Started: time.Now().UTC()})
}
