package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
)

// http01Server answers http-01 challenges from the tokens the workers put in.
type http01Server struct {
	tokens sync.Map // token -> key authorization
	served atomic.Int64
}

func (s *http01Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
	v, found := s.tokens.Load(tok)
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	s.served.Add(1)
	_, _ = w.Write([]byte(v.(string)))
}

// acmeMain runs whole ACME orders for one IP identifier, the way autocert
// does (newOrder, authorization, challenge, wait for the authorization,
// wait for the order, finalize, fetch), one account per worker.
func acmeMain(args []string) error {
	fs := flag.NewFlagSet("acme", flag.ExitOnError)
	var l loadFlags
	l.register(fs)
	dir := fs.String("directory", "", "the ACME directory URL")
	listen := fs.String("http01", "127.0.0.2:18899", "where to answer http-01 (the server must fetch from this port)")
	pool := fs.String("csrs", "", "CSR pool from `acmeload csrs -ip` naming the http01 address")
	eabFile := fs.String("eab-file", "", "EAB_KID=... and EAB_HMAC_KEY=... lines from `certmaker user acme-eab` (else the environment's)")
	_ = fs.Parse(args)
	if *dir == "" || *pool == "" {
		return fmt.Errorf("-directory and -csrs are required")
	}
	ip, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-http01 %q: %w", *listen, err)
	}
	csrs, err := readCSRs(*pool)
	if err != nil {
		return err
	}
	eab, err := readEAB(*eabFile)
	if err != nil {
		return err
	}

	srv := &http01Server{}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen for http-01: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	ctx := context.Background()
	clients := make([]*acme.Client, l.conns)
	var wg sync.WaitGroup
	var regErr error
	var mu sync.Mutex
	for w := range clients {
		hc, err := l.httpClient()
		if err != nil {
			return err
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return fmt.Errorf("account key: %w", err)
		}
		c := &acme.Client{Key: key, DirectoryURL: *dir, HTTPClient: hc, UserAgent: "certmaker-acmeload"}
		clients[w] = c
		wg.Go(func() {
			if _, err := c.Register(ctx, &acme.Account{ExternalAccountBinding: eab}, acme.AcceptTOS); err != nil {
				mu.Lock()
				regErr = errors.Join(regErr, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if regErr != nil {
		return fmt.Errorf("register accounts: %w", regErr)
	}

	var challenges atomic.Int64
	next := make([]int, l.conns)
	do := func(ctx context.Context, w int) error {
		c := clients[w]
		csr := csrs[(w*7+next[w])%len(csrs)].Bytes
		next[w]++
		o, err := c.AuthorizeOrder(ctx, acme.IPIDs(ip))
		if err != nil {
			return fmt.Errorf("new order: %w", err)
		}
		for _, u := range o.AuthzURLs {
			a, err := c.GetAuthorization(ctx, u)
			if err != nil {
				return fmt.Errorf("authorization: %w", err)
			}
			if a.Status == acme.StatusValid {
				continue // a server may reuse a valid authorization
			}
			var chal *acme.Challenge
			for _, ch := range a.Challenges {
				if ch.Type == "http-01" {
					chal = ch
				}
			}
			if chal == nil {
				return fmt.Errorf("no http-01 challenge in %s", u)
			}
			ka, err := c.HTTP01ChallengeResponse(chal.Token)
			if err != nil {
				return err
			}
			srv.tokens.Store(chal.Token, ka)
			_, err = c.Accept(ctx, chal)
			if err == nil {
				_, err = c.WaitAuthorization(ctx, a.URI)
			}
			srv.tokens.Delete(chal.Token)
			if err != nil {
				return fmt.Errorf("http-01: %w", err)
			}
			challenges.Add(1)
		}
		if o, err = c.WaitOrder(ctx, o.URI); err != nil {
			return fmt.Errorf("wait for the order: %w", err)
		}
		if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, false); err != nil {
			return fmt.Errorf("finalize: %w", err)
		}
		return nil
	}
	if err := do(ctx, 0); err != nil {
		return fmt.Errorf("first order: %w", err)
	}
	challenges.Store(0)
	srv.served.Store(0)
	res, err := l.run(do)
	if err != nil {
		return err
	}
	res.extra = strings.TrimSpace(res.extra + fmt.Sprintf(" challenges=%d http01_fetches=%d", challenges.Load(), srv.served.Load()))
	fmt.Println(res)
	if res.firstErr != nil {
		fmt.Fprintf(os.Stderr, "acmeload acme: %d errors, the first: %v\n", res.errors, res.firstErr)
	}
	return nil
}

// readEAB takes the binding from a file of `certmaker user acme-eab`'s
// output or from the environment (certmaker requires one; step-ca's ACME
// provisioner does not), never from a command line, where every process
// could read it. No EAB_KID means no binding.
func readEAB(file string) (*acme.ExternalAccountBinding, error) {
	vars := map[string]string{"EAB_KID": os.Getenv("EAB_KID"), "EAB_HMAC_KEY": os.Getenv("EAB_HMAC_KEY")}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read -eab-file: %w", err)
		}
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
				vars[k] = v
			}
		}
	}
	if vars["EAB_KID"] == "" {
		return nil, nil
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(vars["EAB_HMAC_KEY"], "="))
	if err != nil {
		return nil, fmt.Errorf("EAB_HMAC_KEY is not base64url: %w", err)
	}
	return &acme.ExternalAccountBinding{KID: vars["EAB_KID"], Key: key}, nil
}
