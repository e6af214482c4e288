package challenge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// WellKnownPath is where certmaker's own challenge expects the token.
const WellKnownPath = "/.well-known/certmaker-challenge/token.txt"

const (
	defaultTimeout     = 5 * time.Second
	defaultConcurrency = 4
	defaultMaxInFlight = 16
	defaultMaxBody     = 128 // a token needs far less; like boulder's va

	// A token answer needs a few hundred bytes of headers; anything near
	// this limit is a misbehaving server, not a proof.
	maxHeaderBytes = 16 << 10
)

// MaxPrivilegedPort is the highest port allowed when Config.AllowedPorts is
// empty; on Unix-like systems only root may listen at or below it.
const MaxPrivilegedPort = 1023

// ErrPort is matched (errors.Is) by every error about a port that is out of
// range or not allowed.
var ErrPort = errors.New("invalid port")

// Resolver is satisfied by *net.Resolver.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config configures a Checker. The zero value is usable.
type Config struct {
	// Timeout bounds each fetch: lookup, connect, headers and body.
	// Default 5s.
	Timeout time.Duration
	// AllowedPorts are the ports a Target may name. Empty allows the
	// privileged ports 1..1023 only: on the usual target only root can
	// listen there, so a token served there proves the host, not merely
	// one of its users.
	AllowedPorts []int
	// DeniedNetworks are never connected to, whatever a name resolves to.
	DeniedNetworks []netip.Prefix
	// Hosts maps names to addresses and is consulted before Resolver.
	// Names are case-insensitive and a trailing dot is ignored.
	Hosts map[string][]netip.Addr
	// Resolver looks up names not in Hosts; nil is net.DefaultResolver.
	Resolver Resolver
	// DialContext connects to a resolved address; nil is a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Concurrency is how many identifiers one Check validates at once.
	// Default 4.
	Concurrency int
	// MaxInFlight is how many fetches all Checks and CheckOnes of the
	// Checker run at once, so that many solves arriving together cannot
	// open Concurrency connections each. Default 16.
	MaxInFlight int
	// MaxPerRequester is how many of those one requester runs at once, so
	// that one user's slow solves cannot hold every slot. Default a
	// quarter of MaxInFlight (at least 1).
	MaxPerRequester int
	// MaxBody is the largest answer accepted, in bytes. Default 128.
	MaxBody int64
	// DNSServers answer the TXT lookups of DNS proofs (the operator's
	// own DNS server, say); empty is the system's, /etc/resolv.conf's
	// name servers, read again when it changes. When given, and
	// Resolver is nil, the addresses of the names HTTP and TLS proofs
	// connect to are looked up there too, so every proof sees one DNS.
	DNSServers []netip.AddrPort
}

// Checker fetches challenge tokens. It keeps nothing between checks but
// the fetches in flight.
type Checker struct {
	timeout     time.Duration
	allowed     []int
	denied      []netip.Prefix
	hosts       map[string][]netip.Addr
	resolver    Resolver
	concurrency int
	maxBody     int64
	client      *http.Client
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	dns         *dnsClient
	inFlight    *slots // shared by every Check
}

// New validates cfg, applies its defaults and returns a Checker. It copies
// cfg's slices and map, so later changes to them have no effect.
func New(cfg Config) (*Checker, error) {
	c := &Checker{
		timeout:     cfg.Timeout,
		concurrency: cfg.Concurrency,
		maxBody:     cfg.MaxBody,
		resolver:    cfg.Resolver,
	}
	switch {
	case c.timeout < 0:
		return nil, fmt.Errorf("timeout %s is negative", c.timeout)
	case c.timeout == 0:
		c.timeout = defaultTimeout
	}
	switch {
	case c.concurrency < 0:
		return nil, fmt.Errorf("concurrency %d is negative", c.concurrency)
	case c.concurrency == 0:
		c.concurrency = defaultConcurrency
	}
	maxInFlight := cfg.MaxInFlight
	switch {
	case maxInFlight < 0:
		return nil, fmt.Errorf("max in flight %d is negative", maxInFlight)
	case maxInFlight == 0:
		maxInFlight = defaultMaxInFlight
	}
	perRequester := cfg.MaxPerRequester
	switch {
	case perRequester < 0:
		return nil, fmt.Errorf("max per requester %d is negative", perRequester)
	case perRequester > maxInFlight:
		return nil, fmt.Errorf("max per requester %d is more than max in flight %d", perRequester, maxInFlight)
	case perRequester == 0:
		perRequester = max(1, maxInFlight/4)
	}
	c.inFlight = newSlots(maxInFlight, perRequester)
	switch {
	case c.maxBody < 0:
		return nil, fmt.Errorf("max body %d is negative", c.maxBody)
	case c.maxBody == 0:
		c.maxBody = defaultMaxBody
	}
	for _, p := range cfg.AllowedPorts {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("allowed port %d is outside 1..65535", p)
		}
	}
	c.allowed = slices.Clone(cfg.AllowedPorts)
	for _, p := range cfg.DeniedNetworks {
		if !p.IsValid() {
			return nil, fmt.Errorf("denied network %q is invalid", p)
		}
		c.denied = append(c.denied, unmapPrefix(p))
	}
	hosts, err := normalizeHosts(cfg.Hosts)
	if err != nil {
		return nil, err
	}
	c.hosts = hosts
	dial := cfg.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c.dial = dial
	servers := slices.Clone(cfg.DNSServers)
	for _, s := range servers {
		if !s.IsValid() || s.Port() == 0 {
			return nil, fmt.Errorf("DNS server %q is not an address and port", s)
		}
	}
	if len(servers) > 0 && c.resolver == nil {
		c.resolver = &dnsClient{servers: servers, dial: dial}
	}
	c.dns = &dnsClient{servers: servers, dial: dial}
	if len(servers) == 0 {
		c.dns.system = newResolvConf(systemResolvConf)
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	c.client = &http.Client{
		Transport: &http.Transport{
			// An environment proxy would fetch from somewhere other than
			// the address we checked against the denied networks.
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := dial(ctx, network, addr)
				if err != nil {
					// Marked so that CheckOne knows nothing was sent yet
					// and the next address may be tried.
					return nil, &dialError{err: err}
				}
				return conn, nil
			},
			DisableKeepAlives:      true, // each check stands alone
			DisableCompression:     true, // compare the bytes the server sent
			MaxResponseHeaderBytes: maxHeaderBytes,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c, nil
}

// PortAllowed reports whether p is in 1..65535 and one of
// Config.AllowedPorts, or when that is empty a privileged port: nil, or an
// error matching ErrPort that says why.
func (c *Checker) PortAllowed(p int) error {
	switch {
	case p < 1 || p > 65535:
		return fmt.Errorf("%w %d: outside 1..65535", ErrPort, p)
	case len(c.allowed) == 0 && p > MaxPrivilegedPort:
		return fmt.Errorf("%w %d: not a privileged port (1..%d) and no other ports are allowed", ErrPort, p, MaxPrivilegedPort)
	case len(c.allowed) > 0 && !slices.Contains(c.allowed, p):
		return fmt.Errorf("%w %d: not one of the allowed ports %s", ErrPort, p, joinInts(c.allowed))
	}
	return nil
}

// Check validates every target that is not Exempt, at most Concurrency at
// once (and at most MaxInFlight across all checks). requester names who
// asks (a user); see Config.MaxPerRequester. The first failure cancels the
// checks still running and is returned as a *Error; nil means every target
// passed (or all were exempt).
func (c *Checker) Check(ctx context.Context, requester string, targets []Target) error {
	todo := make(chan Target, len(targets))
	for _, t := range targets {
		if !Exempt(t.Identifier) {
			todo <- t
		}
	}
	close(todo)
	if len(todo) == 0 {
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first *Error
		wg    sync.WaitGroup
	)
	for range min(c.concurrency, len(todo)) {
		wg.Go(func() {
			// Targets left after a failure still go through checkOne, which
			// returns at once on a canceled context; every target either
			// passes or fails, so nil can never mean "not checked".
			for t := range todo {
				if err := c.checkOne(ctx, requester, t); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		return nil
	}
	return first
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
