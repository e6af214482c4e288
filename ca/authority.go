package ca

import (
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what an Authority needs to know beyond its issuers.
type Config struct {
	// PublicURL is where clients reach the CA, e.g.
	// "https://ca.home.lan:8443".
	PublicURL string
	// CertURL is the base of the OCSP, CRL and issuer URLs put into
	// certificates, e.g. "http://ca.home.lan:8880": plain HTTP, which
	// relying parties fetch them over (RFC 5019). "" is PublicURL.
	CertURL     string
	DefaultDays int
	MinDays     int
	MaxDays     int
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Authority signs certificates with the active issuer and remembers every
// CA certificate it has had (roots and intermediates), so that their
// certificates stay answerable.
type Authority struct {
	cfg Config

	mu      sync.RWMutex // held to change issuers and active, and to read them
	issuers map[string]*Issuer
	active  *Issuer
	// sorted is every issuer, oldest first. Add stores a new slice and
	// never changes one it stored, so Issuers hands it out without the
	// lock, a copy or a sort: the OCSP responder asks on every request.
	sorted atomic.Pointer[[]*Issuer]
	roots  atomic.Pointer[[]*Issuer] // the roots of sorted, in its order
}

// New checks cfg and returns an Authority with no issuers yet.
func New(cfg Config) (*Authority, error) {
	if cfg.PublicURL == "" {
		return nil, fmt.Errorf("public URL is empty")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.CertURL == "" {
		cfg.CertURL = cfg.PublicURL
	}
	cfg.CertURL = strings.TrimRight(cfg.CertURL, "/")
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
	return &Authority{cfg: cfg, issuers: make(map[string]*Issuer)}, nil
}

// Now is the authority's clock.
func (a *Authority) Now() time.Time { return a.cfg.Now() }

// PublicURL is the base URL without a trailing slash.
func (a *Authority) PublicURL() string { return a.cfg.PublicURL }

// CertURL is the base of the URLs in certificates, without a trailing
// slash.
func (a *Authority) CertURL() string { return a.cfg.CertURL }

// Add makes a CA certificate known (a root, or an intermediate whose
// Parent was added before); with active it becomes the issuer of new
// certificates. An issuer already known by its fingerprint is replaced,
// which is how a root's key goes offline or comes back.
func (a *Authority) Add(iss *Issuer, active bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.issuers[iss.Fingerprint] = iss
	if active || (a.active != nil && a.active.Fingerprint == iss.Fingerprint) {
		a.active = iss
	}
	a.sort()
}

// SetRootKey gives the root with that fingerprint a key, or takes it away
// (nil: the key goes offline), and re-links the intermediates under it,
// so that no issuer the authority holds keeps the old key reachable.
func (a *Authority) SetRootKey(fingerprint string, key crypto.Signer) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.issuers[fingerprint]
	if old == nil || !old.IsRoot() {
		return fmt.Errorf("root %.64q: %w", fingerprint, ErrUnknownRoot)
	}
	if key != nil {
		if err := matches(key, old.Cert); err != nil {
			return fmt.Errorf("root %s: %w", fingerprint, ErrWrongKey)
		}
	}
	root := &Issuer{Cert: old.Cert, Signer: key, Fingerprint: old.Fingerprint}
	a.issuers[fingerprint] = root
	if a.active == old {
		a.active = root
	}
	for fp, i := range a.issuers {
		if i.Parent == old {
			in := &Issuer{Cert: i.Cert, Signer: i.Signer, Fingerprint: i.Fingerprint, Parent: root}
			a.issuers[fp] = in
			if a.active == i {
				a.active = in
			}
		}
	}
	a.sort()
	return nil
}

// sort publishes the issuers, and the roots among them, oldest first; a.mu
// is held.
func (a *Authority) sort() {
	sorted := make([]*Issuer, 0, len(a.issuers))
	for _, i := range a.issuers {
		sorted = append(sorted, i)
	}
	// The fingerprint breaks ties, so the order never depends on the map's.
	slices.SortFunc(sorted, func(x, y *Issuer) int {
		if c := x.Cert.NotBefore.Compare(y.Cert.NotBefore); c != 0 {
			return c
		}
		return strings.Compare(x.Fingerprint, y.Fingerprint)
	})
	var roots []*Issuer
	for _, i := range sorted {
		if i.IsRoot() {
			roots = append(roots, i)
		}
	}
	a.sorted.Store(&sorted)
	a.roots.Store(&roots)
}

// Active is the issuer that signs new certificates (an intermediate, or a
// one-tier root), nil before the first.
func (a *Authority) Active() *Issuer {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.active
}

// ActiveRoot is the root of the active issuer: what devices must trust.
func (a *Authority) ActiveRoot() *Issuer {
	if i := a.Active(); i != nil {
		return i.Anchor()
	}
	return nil
}

// Issuer finds a root or an intermediate by fingerprint, nil if unknown.
func (a *Authority) Issuer(fingerprint string) *Issuer {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.issuers[fingerprint]
}

// Root finds a root by fingerprint, nil if unknown or an intermediate.
func (a *Authority) Root(fingerprint string) *Issuer {
	if i := a.Issuer(fingerprint); i != nil && i.IsRoot() {
		return i
	}
	return nil
}

// Issuers lists every root and intermediate, oldest first (by NotBefore,
// then fingerprint). The slice is shared with every other caller and with
// later calls until an issuer is added: read it, never change it. Its
// capacity is its length, so an append copies.
func (a *Authority) Issuers() []*Issuer { return shared(a.sorted.Load()) }

// Roots lists every root, oldest first, shared as Issuers is.
func (a *Authority) Roots() []*Issuer { return shared(a.roots.Load()) }

func shared(p *[]*Issuer) []*Issuer {
	if p == nil {
		return nil
	}
	return (*p)[:len(*p):len(*p)]
}

// ChainPEM is a leaf of the issuer with that fingerprint, in PEM, followed
// by the issuer's chain (the intermediate; never a root).
func (a *Authority) ChainPEM(leaf []byte, issuer string) []byte {
	out := CertPEM(leaf)
	if i := a.Issuer(issuer); i != nil {
		for _, der := range i.Chain() {
			out = append(out, CertPEM(der)...)
		}
	}
	return out
}

// Days turns a requested validity into the one issued: 0 is the default,
// anything else is clamped to the configured bounds.
func (a *Authority) Days(n int) int {
	if n == 0 {
		return a.cfg.DefaultDays
	}
	return min(max(n, a.cfg.MinDays), a.cfg.MaxDays)
}

// activeIssuer is the issuer that signs leaves, or an error before there
// is one.
func (a *Authority) activeIssuer() (*Issuer, error) {
	i := a.Active()
	if i == nil {
		return nil, fmt.Errorf("no active root")
	}
	if !i.SignsLeaves() {
		return nil, fmt.Errorf("%s signs intermediates only, not leaves", i.Fingerprint)
	}
	if i.Signer == nil {
		return nil, fmt.Errorf("issuer %s: %w", i.Fingerprint, ErrRootOffline)
	}
	return i, nil
}
