// Command profserve runs certmaker's API as `certmaker serve` wires it
// (app.New, the same store and http.Server settings; no ACME, dashboard or
// admin socket, which the measured routes never reach), plus
// net/http/pprof on a second loopback address, so that a load test can be
// profiled. It is a measuring tool: the shipped binary has no pprof.
//
//	go run ./tools/profserve -db /tmp/p.db -listen 127.0.0.1:18880 -pprof 127.0.0.1:16060
//	go tool pprof -top 'http://127.0.0.1:16060/debug/pprof/profile?seconds=10'
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"certmaker/app"
	"certmaker/config"
	"certmaker/httplog"
)

func main() {
	dbPath := flag.String("db", "profserve.db", "database `PATH`")
	listen := flag.String("listen", "127.0.0.1:18880", "API `ADDR`")
	pprofAddr := flag.String("pprof", "127.0.0.1:16060", "pprof `ADDR` (loopback)")
	publicURL := flag.String("public-url", "", "public URL (default http://<listen>)")
	tokenFile := flag.String("token-file", "", "write a new user's API token to `FILE`")
	quiet := flag.Bool("quiet", false, "no request log at all (serve logs at its log_level)")
	flag.Parse()
	// As serve's tuneGC does.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
	if *publicURL == "" {
		*publicURL = "http://" + *listen
	}
	if err := run(*dbPath, *listen, *pprofAddr, *publicURL, *tokenFile, *quiet); err != nil {
		log.Fatal(err)
	}
}

func run(dbPath, listen, pprofAddr, publicURL, tokenFile string, quiet bool) error {
	cfg := config.Default()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if quiet {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.Store.Path = dbPath
	db, err := app.OpenStore(cfg, app.OpenOptions{Create: true, Wait: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	cfg.Server.PublicURL = publicURL
	cfg.CA.CommonName, cfg.CA.Organization = "profserve root", ""
	cfg.ACME.Enabled = false
	a, err := app.New(cfg, db, app.Options{Logger: logger, NoDashboard: true})
	if err != nil {
		return err
	}
	a.Start(context.Background()) // serve's chores: releasing mapped pages above all
	if tokenFile != "" {
		name := fmt.Sprintf("prof%d", time.Now().UnixNano())
		token, err := a.Operator.AddUser(context.Background(), name, false)
		if err != nil {
			return err
		}
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	pl, err := net.Listen("tcp", pprofAddr)
	if err != nil {
		return err
	}
	go http.Serve(pl, mux)

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	public := httplog.NewHTTPServer(a.Public, logger)
	fmt.Fprintln(os.Stderr, "profserve: serving", ln.Addr(), "pprof", pl.Addr())
	return public.Serve(ln)
}
