package ca

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Revoked is one entry of a CRL.
type Revoked struct {
	Serial *big.Int
	At     time.Time
	Reason int
}

// CRLSource is what CRLs need from storage, per issuer fingerprint.
type CRLSource interface {
	// Revocations lists an issuer's revoked certificates together with
	// the generation they belong to; both come from one consistent read.
	Revocations(issuer string) (gen uint64, list []Revoked, err error)
	// RevocationGeneration grows with every revocation under the issuer;
	// a cached CRL of the same generation is still complete.
	RevocationGeneration(issuer string) (uint64, error)
	// NextCRLNumber durably hands out the next CRL number of the issuer.
	NextCRLNumber(issuer string) (*big.Int, error)
	// RootCRL is the CRL last signed for a root (nil if none), and
	// PutRootCRL keeps one: a root's CRL must outlive its key's time on
	// the server.
	RootCRL(root string) ([]byte, error)
	PutRootCRL(root string, der []byte) error
}

// CRLValidity is how long a leaf issuer's CRL says it is good for; it is
// rebuilt when half of that has passed, or at once when a revocation
// changes it.
const CRLValidity = 24 * time.Hour

// RootCRLValidity is how long a root's CRL (of its intermediates) is good
// for: long, since the root's key may be offline and is brought out to
// sign it. With the key online it is re-signed when half has passed.
const RootCRLValidity = 365 * 24 * time.Hour

// onlyCACerts is a critical issuingDistributionPoint (RFC 5280 5.2.5)
// saying onlyContainsCACerts: SEQUENCE { [2] IMPLICIT BOOLEAN TRUE }.
var onlyCACerts = pkix.Extension{
	Id:       asn1.ObjectIdentifier{2, 5, 29, 28},
	Critical: true,
	Value:    []byte{0x30, 0x03, 0x82, 0x01, 0xff},
}

// CRLs builds each issuer's CRL when its revocations change, and serves it
// from memory in between.
type CRLs struct {
	authority *Authority
	source    CRLSource

	mu    sync.Mutex
	cache map[string]*crlEntry
}

type crlEntry struct {
	gen        uint64
	der        []byte
	thisUpdate time.Time
	nextUpdate time.Time
}

// NewCRLs returns an empty CRL cache over the authority's issuers.
func NewCRLs(a *Authority, src CRLSource) *CRLs {
	return &CRLs{authority: a, source: src, cache: make(map[string]*crlEntry)}
}

// CRL returns the DER CRL of the issuer with that fingerprint, and when it
// was made and expires. ErrUnknownRoot for a fingerprint certmaker never
// had. A two-tier root's CRL is the one last signed while its key was at
// hand, even past its nextUpdate: relying parties judge that, and status
// warns before it comes.
func (c *CRLs) CRL(fingerprint string) (der []byte, thisUpdate, nextUpdate time.Time, err error) {
	iss := c.authority.Issuer(fingerprint)
	if iss == nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("root %.64q: %w", fingerprint, ErrUnknownRoot)
	}
	if !iss.SignsLeaves() {
		e, err := c.rootCRL(iss, false)
		if err != nil {
			return nil, time.Time{}, time.Time{}, err
		}
		return e.der, e.thisUpdate, e.nextUpdate, nil
	}
	now := c.authority.Now()
	gen, err := c.source.RevocationGeneration(fingerprint)
	if err != nil {
		// The revocations cannot be read now (a storage cluster without
		// quorum): the CRL built last is still a valid CRL until its
		// nextUpdate.
		c.mu.Lock()
		e := c.cache[fingerprint]
		c.mu.Unlock()
		if e != nil && now.Before(e.nextUpdate) {
			return e.der, e.thisUpdate, e.nextUpdate, nil
		}
		return nil, time.Time{}, time.Time{}, err
	}
	// One builder at a time: CRLs change rarely, and a burst of fetches
	// right after a revocation should sign once, not once per fetch.
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.cache[fingerprint]; e != nil && e.gen == gen && now.Before(e.thisUpdate.Add(CRLValidity/2)) {
		return e.der, e.thisUpdate, e.nextUpdate, nil
	}
	e, err := c.build(iss, now, CRLValidity)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	c.cache[fingerprint] = e
	return e.der, e.thisUpdate, e.nextUpdate, nil
}

// Forget drops every CRL kept in memory: another process of the store
// changed the roots, and may have signed a root's CRL anew. Each is read
// or built again on its next request.
func (c *CRLs) Forget() {
	c.mu.Lock()
	clear(c.cache)
	c.mu.Unlock()
}

// SignRootCRL signs a new CRL for root now, with the key root carries
// (which may be an offline root's, given for this call), and keeps it.
// It returns when the new CRL expires.
func (c *CRLs) SignRootCRL(root *Issuer) (time.Time, error) {
	e, err := c.rootCRL(root, true)
	if err != nil {
		return time.Time{}, err
	}
	return e.nextUpdate, nil
}

// RootCRLNextUpdate is when the root's current CRL expires; zero if it
// has none yet.
func (c *CRLs) RootCRLNextUpdate(root *Issuer) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.storedRootCRL(root)
	if err != nil || e == nil {
		return time.Time{}, err
	}
	return e.nextUpdate, nil
}

// rootCRL serves a root's CRL: the cached or stored one while it is less
// than half way through its validity (or the key is offline), else a new
// one signed and stored. force signs a new one whatever the old one's age.
func (c *CRLs) rootCRL(root *Issuer, force bool) (*crlEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.authority.Now()
	e, err := c.storedRootCRL(root)
	if err != nil {
		return nil, err
	}
	fresh := e != nil && now.Before(e.thisUpdate.Add(RootCRLValidity/2))
	if !force && e != nil && (fresh || root.Signer == nil) {
		return e, nil
	}
	if root.Signer == nil {
		return nil, fmt.Errorf("root %s has no CRL yet: %w (sign one with `certmaker root crl --root-key FILE`)", root.Fingerprint, ErrRootOffline)
	}
	if e, err = c.build(root, now, RootCRLValidity); err != nil {
		return nil, err
	}
	if err := c.source.PutRootCRL(root.Fingerprint, e.der); err != nil {
		return nil, fmt.Errorf("storing root CRL: %w", err)
	}
	c.cache[root.Fingerprint] = e
	return e, nil
}

// storedRootCRL is the root's CRL from the cache, else from storage;
// nil if it has none. c.mu is held.
func (c *CRLs) storedRootCRL(root *Issuer) (*crlEntry, error) {
	if e := c.cache[root.Fingerprint]; e != nil {
		return e, nil
	}
	der, err := c.source.RootCRL(root.Fingerprint)
	if err != nil || der == nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("root %s: stored CRL: %w", root.Fingerprint, err)
	}
	e := &crlEntry{der: der, thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate}
	c.cache[root.Fingerprint] = e
	return e, nil
}

func (c *CRLs) build(iss *Issuer, now time.Time, validity time.Duration) (*crlEntry, error) {
	gen, list, err := c.source.Revocations(iss.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("reading revocations: %w", err)
	}
	number, err := c.source.NextCRLNumber(iss.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("numbering CRL: %w", err)
	}
	entries := make([]x509.RevocationListEntry, len(list))
	for i, r := range list {
		entries[i] = x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC(), ReasonCode: r.Reason}
	}
	this := now.UTC().Truncate(time.Second)
	next := this.Add(validity)
	tmpl := &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                this,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
	}
	if !iss.SignsLeaves() {
		// A root's CRL covers intermediates only, and says so: that scope
		// is what lets it last a year (the Baseline Requirements give a
		// CRL of leaves ten days).
		tmpl.ExtraExtensions = []pkix.Extension{onlyCACerts}
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, iss.Cert, iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("signing CRL: %w", err)
	}
	return &crlEntry{gen: gen, der: der, thisUpdate: this, nextUpdate: next}, nil
}
