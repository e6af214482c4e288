package ca

import (
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what an Authority needs to know beyond its roots.
type Config struct {
	// PublicURL is the base of the OCSP and CRL URLs put into certificates,
	// e.g. "http://ca.home.lan:8880".
	PublicURL   string
	DefaultDays int
	MinDays     int
	MaxDays     int
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Authority signs certificates with the active root and remembers every
// root it has had, so that their certificates stay answerable.
type Authority struct {
	cfg Config

	mu     sync.RWMutex // held to change roots and active, and to read them
	roots  map[string]*Root
	active *Root
	// sorted is every root, oldest first. AddRoot stores a new slice and
	// never changes one it stored, so Roots hands it out without the lock,
	// a copy or a sort: the OCSP responder asks on every request.
	sorted atomic.Pointer[[]*Root]
}

// New checks cfg and returns an Authority with no roots yet.
func New(cfg Config) (*Authority, error) {
	if cfg.PublicURL == "" {
		return nil, fmt.Errorf("public URL is empty")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.MinDays < 1 || cfg.MaxDays < cfg.MinDays {
		return nil, fmt.Errorf("days bounds [%d, %d] are not a range of at least one day", cfg.MinDays, cfg.MaxDays)
	}
	if cfg.DefaultDays < cfg.MinDays || cfg.DefaultDays > cfg.MaxDays {
		return nil, fmt.Errorf("default days %d is outside [%d, %d]", cfg.DefaultDays, cfg.MinDays, cfg.MaxDays)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Authority{cfg: cfg, roots: make(map[string]*Root)}, nil
}

// Now is the authority's clock.
func (a *Authority) Now() time.Time { return a.cfg.Now() }

// PublicURL is the base URL without a trailing slash.
func (a *Authority) PublicURL() string { return a.cfg.PublicURL }

// AddRoot makes a root known; with active it becomes the issuer of new
// certificates.
func (a *Authority) AddRoot(r *Root, active bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roots[r.Fingerprint] = r
	if active {
		a.active = r
	}
	sorted := make([]*Root, 0, len(a.roots))
	for _, r := range a.roots {
		sorted = append(sorted, r)
	}
	// The fingerprint breaks ties, so the order never depends on the map's.
	slices.SortFunc(sorted, func(x, y *Root) int {
		if c := x.Cert.NotBefore.Compare(y.Cert.NotBefore); c != 0 {
			return c
		}
		return strings.Compare(x.Fingerprint, y.Fingerprint)
	})
	a.sorted.Store(&sorted)
}

// Active is the root that issues new certificates, nil before the first.
func (a *Authority) Active() *Root {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.active
}

// Root finds a root by fingerprint, nil if unknown.
func (a *Authority) Root(fingerprint string) *Root {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.roots[fingerprint]
}

// Roots lists every known root, oldest first (by NotBefore, then
// fingerprint). The slice is shared with every other caller and with later
// calls until a root is added: read it, never change it. Its capacity is
// its length, so an append copies.
func (a *Authority) Roots() []*Root {
	p := a.sorted.Load()
	if p == nil {
		return nil
	}
	return (*p)[:len(*p):len(*p)]
}

// Days turns a requested validity into the one issued: 0 is the default,
// anything else is clamped to the configured bounds.
func (a *Authority) Days(n int) int {
	if n == 0 {
		return a.cfg.DefaultDays
	}
	return min(max(n, a.cfg.MinDays), a.cfg.MaxDays)
}

// activeRoot is the root that signs, or an error before there is one.
func (a *Authority) activeRoot() (*Root, error) {
	r := a.Active()
	if r == nil {
		return nil, fmt.Errorf("no active root")
	}
	return r, nil
}
