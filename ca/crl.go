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
	// Revocations lists an issuer's revoked certificates still valid at
	// at, together with the generation they belong to; both come from one
	// consistent read.
	Revocations(issuer string, at time.Time) (gen uint64, list []Revoked, err error)
	// CRLState is the issuer's revocation generation, which grows with
	// every revocation under it, and the CRL agreed for it (Number 0:
	// none), read together.
	CRLState(issuer string) (gen uint64, agreed AgreedCRL, err error)
	// AgreeCRL agrees on the issuer's next CRL, of generation gen made at
	// thisUpdate, with a number above every one before, if the one agreed
	// is still the one numbered seen; else it returns the one agreed since.
	AgreeCRL(issuer string, seen, gen uint64, thisUpdate time.Time) (AgreedCRL, error)
	// NextCRLNumber durably hands out the next CRL number of the issuer.
	NextCRLNumber(issuer string) (*big.Int, error)
	// RootCRL is the CRL last signed for a root (nil if none), and
	// PutRootCRL keeps one: a root's CRL must outlive its key's time on
	// the server.
	RootCRL(root string) ([]byte, error)
	PutRootCRL(root string, der []byte) error
}

// AgreedCRL is the CRL of an issuer's leaves that every process serving
// the CA signs: one number and one thisUpdate per revocation generation,
// so that CRL numbers never go back whichever process a client asks.
type AgreedCRL struct {
	Number     uint64
	Gen        uint64
	ThisUpdate time.Time
}

// current reports whether the CRL agreed is the one to serve now: of the
// generation gen, and less than half way through its validity.
func (a AgreedCRL) current(gen uint64, now time.Time) bool {
	return a.Number != 0 && a.Gen == gen && now.Before(a.ThisUpdate.Add(CRLValidity/2))
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

	// signing is held by whoever builds or reads a CRL through the
	// source; mu only while the cache is read or changed, so that what
	// memory holds is served even while a builder waits for storage.
	signing sync.Mutex
	mu      sync.Mutex
	cache   map[string]*crlEntry
}

type crlEntry struct {
	gen        uint64
	number     uint64 // of a leaf issuer's CRL: the one agreed
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
	gen, agreed, err := c.source.CRLState(fingerprint)
	if err != nil {
		// The caller knows whether storage did not answer, and may serve
		// what memory holds (Held).
		return nil, time.Time{}, time.Time{}, err
	}
	// One builder at a time: CRLs change rarely, and a burst of fetches
	// right after a revocation should sign once, not once per fetch.
	c.signing.Lock()
	defer c.signing.Unlock()
	e, err := c.leafCRL(iss, gen, agreed)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	return e.der, e.thisUpdate, e.nextUpdate, nil
}

// maxAgreeRounds bounds the rounds of agreeing on a CRL while revocations
// keep coming between the agreement and the list read.
const maxAgreeRounds = 8

// leafCRL is the CRL agreed for the issuer's generation gen, signed here
// if the one kept is not it; a new one is agreed first when the one
// agreed is out of date. c.signing is held.
func (c *CRLs) leafCRL(iss *Issuer, gen uint64, agreed AgreedCRL) (*crlEntry, error) {
	now := c.authority.Now()
	for range maxAgreeRounds {
		if !agreed.current(gen, now) {
			var err error
			if agreed, err = c.source.AgreeCRL(iss.Fingerprint, agreed.Number, gen, now.UTC().Truncate(time.Second)); err != nil {
				return nil, fmt.Errorf("agreeing on a CRL: %w", err)
			}
			if agreed.Gen > gen {
				gen = agreed.Gen // another process agreed on a later one
			}
			if !agreed.current(gen, now) {
				continue // another process's, already out of date here
			}
		}
		if e := c.cached(iss.Fingerprint); e != nil && e.number == agreed.Number {
			return e, nil
		}
		at, list, err := c.source.Revocations(iss.Fingerprint, agreed.ThisUpdate)
		if err != nil {
			return nil, fmt.Errorf("reading revocations: %w", err)
		}
		if at != agreed.Gen {
			gen = at // revoked since it was agreed: agree on a newer one
			continue
		}
		e, err := c.sign(iss, new(big.Int).SetUint64(agreed.Number), list, agreed.ThisUpdate, CRLValidity)
		if err != nil {
			return nil, err
		}
		e.gen, e.number = gen, agreed.Number
		c.keep(iss.Fingerprint, e)
		return e, nil
	}
	return nil, fmt.Errorf("issuer %s: its revocations kept changing while its CRL was agreed on; try again", iss.Fingerprint)
}

// Held is the CRL of the issuer with that fingerprint as memory holds
// it, without asking storage (a storage cluster that does not answer):
// a leaf issuer's until its nextUpdate, a two-tier root's as CRL serves
// it. ok is false if none is held.
func (c *CRLs) Held(fingerprint string) (der []byte, thisUpdate, nextUpdate time.Time, ok bool) {
	iss := c.authority.Issuer(fingerprint)
	e := c.held(fingerprint)
	if e == nil && iss != nil && !iss.SignsLeaves() {
		e = c.cached(fingerprint)
	}
	if e == nil {
		return nil, time.Time{}, time.Time{}, false
	}
	return e.der, e.thisUpdate, e.nextUpdate, true
}

// held is the issuer's CRL built last, if it is still valid: what the
// CA serves while its storage does not answer.
func (c *CRLs) held(fingerprint string) *crlEntry {
	if e := c.cached(fingerprint); e != nil && c.authority.Now().Before(e.nextUpdate) {
		return e
	}
	return nil
}

// cached is the CRL kept for the fingerprint, nil if none.
func (c *CRLs) cached(fingerprint string) *crlEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache[fingerprint]
}

// keep keeps a CRL for the fingerprint.
func (c *CRLs) keep(fingerprint string, e *crlEntry) {
	c.mu.Lock()
	c.cache[fingerprint] = e
	c.mu.Unlock()
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
	c.signing.Lock()
	defer c.signing.Unlock()
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
	c.signing.Lock()
	defer c.signing.Unlock()
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
	c.keep(root.Fingerprint, e)
	return e, nil
}

// storedRootCRL is the root's CRL from the cache, else from storage;
// nil if it has none. c.signing is held.
func (c *CRLs) storedRootCRL(root *Issuer) (*crlEntry, error) {
	if e := c.cached(root.Fingerprint); e != nil {
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
	c.keep(root.Fingerprint, e)
	return e, nil
}

func (c *CRLs) build(iss *Issuer, now time.Time, validity time.Duration) (*crlEntry, error) {
	gen, list, err := c.source.Revocations(iss.Fingerprint, now)
	if err != nil {
		return nil, fmt.Errorf("reading revocations: %w", err)
	}
	number, err := c.source.NextCRLNumber(iss.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("numbering CRL: %w", err)
	}
	e, err := c.sign(iss, number, list, now.UTC().Truncate(time.Second), validity)
	if err != nil {
		return nil, err
	}
	e.gen = gen
	return e, nil
}

// sign signs the issuer's CRL of list, numbered number, made at this.
func (c *CRLs) sign(iss *Issuer, number *big.Int, list []Revoked, this time.Time, validity time.Duration) (*crlEntry, error) {
	entries := make([]x509.RevocationListEntry, len(list))
	for i, r := range list {
		entries[i] = x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC(), ReasonCode: r.Reason}
	}
	this = this.UTC()
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
	return &crlEntry{der: der, thisUpdate: this, nextUpdate: next}, nil
}
