// Command profserve runs certmaker's API as `certmaker serve` wires it (the
// same store, authority, API handler and http.Server settings; no ACME,
// dashboard or admin socket, which the measured routes never reach), plus
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

	"certmaker/admin"
	"certmaker/api"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/store"
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
	db, err := store.Open(dbPath, store.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	go func() { // as serve's releaseMapped does
		for range time.Tick(time.Second) {
			db.ReleaseMapped()
		}
	}()
	authority, err := ca.New(ca.Config{
		PublicURL:   publicURL,
		DefaultDays: cfg.Certificates.DefaultDays,
		MinDays:     cfg.Certificates.MinDays,
		MaxDays:     cfg.Certificates.MaxDays,
	})
	if err != nil {
		return err
	}
	ok, err := admin.LoadRoots(db, authority)
	if err != nil {
		return err
	}
	if !ok {
		r, err := admin.CreateRoot(db, ca.RootConfig{KeyType: ca.KeyECDSAP256, Days: 3650, CommonName: "profserve root", Country: "DE"}, time.Now())
		if err != nil {
			return err
		}
		authority.AddRoot(r, true)
	}
	if tokenFile != "" {
		name := fmt.Sprintf("prof%d", time.Now().UnixNano())
		token, err := (&admin.Ops{DB: db}).AddUser(context.Background(), name, false)
		if err != nil {
			return err
		}
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			return err
		}
	}
	srv, err := api.New(api.Config{Store: db, Authority: authority, Logger: logger})
	if err != nil {
		return err
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
	public := api.NewHTTPServer(srv, logger)
	fmt.Fprintln(os.Stderr, "profserve: serving", ln.Addr(), "pprof", pl.Addr())
	return public.Serve(ln)
}
