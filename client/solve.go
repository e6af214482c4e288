package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"certmaker/challenge"
)

// Solver proves this machine's names when the server asks: it makes the
// token reachable where the server will fetch it, asks the server to check,
// and cleans up.
type Solver struct {
	// Serve, if set, is the address to serve the token on, such as ":80";
	// the server is told to fetch it from that port.
	Serve string
	// WebRoot, if set, is a directory a web server on this machine serves
	// at its root; the token is written below it while the check runs.
	WebRoot string
	// Port is the port the server fetches from with WebRoot; 0 is the
	// server's default.
	Port int
}

// ErrNoSolver is returned when the server requires a challenge and the
// Solver has no way to answer it.
var ErrNoSolver = errors.New("the server requires proof of the names: use --serve-challenge ADDR (such as :80) or --webroot DIR")

func (s Solver) solve(ctx context.Context, c *Client, p *Pending) (*Issued, error) {
	switch {
	case s.Serve != "":
		return s.serve(ctx, c, p)
	case s.WebRoot != "":
		return s.webroot(ctx, c, p)
	}
	return nil, ErrNoSolver
}

func (s Solver) serve(ctx context.Context, c *Client, p *Pending) (*Issued, error) {
	l, err := net.Listen("tcp", s.Serve)
	if err != nil {
		return nil, fmt.Errorf("serving the challenge on %s: %w", s.Serve, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+challenge.WellKnownPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, p.Token)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	return c.Solve(ctx, p, port)
}

func (s Solver) webroot(ctx context.Context, c *Client, p *Pending) (*Issued, error) {
	f, err := writeWebroot(s.WebRoot, challenge.WellKnownPath, []byte(p.Token+"\n"))
	if err != nil {
		return nil, err
	}
	defer f.remove()
	return c.Solve(ctx, p, s.Port)
}
