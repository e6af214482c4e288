package ca

import (
	"crypto/rand"
	"crypto/x509"
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

// CRLSource is what CRLs need from storage, per root fingerprint.
type CRLSource interface {
	// Revocations lists a root's revoked certificates together with the
	// generation they belong to; both come from one consistent read.
	Revocations(root string) (gen uint64, list []Revoked, err error)
	// RevocationGeneration grows with every revocation under the root; a
	// cached CRL of the same generation is still complete.
	RevocationGeneration(root string) (uint64, error)
	// NextCRLNumber durably hands out the next CRL number of the root.
	NextCRLNumber(root string) (*big.Int, error)
}

// CRLValidity is how long a CRL says it is good for; it is rebuilt when
// half of that has passed, or at once when a revocation changes it.
const CRLValidity = 24 * time.Hour

// CRLs builds each root's CRL when its revocations change, and serves it
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

// NewCRLs returns an empty CRL cache over the authority's roots.
func NewCRLs(a *Authority, src CRLSource) *CRLs {
	return &CRLs{authority: a, source: src, cache: make(map[string]*crlEntry)}
}

// CRL returns the DER CRL of the root with that fingerprint, and when it
// was made and expires. ErrUnknownRoot for a fingerprint certmaker never had.
func (c *CRLs) CRL(fingerprint string) (der []byte, thisUpdate, nextUpdate time.Time, err error) {
	root := c.authority.Root(fingerprint)
	if root == nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("root %.64q: %w", fingerprint, ErrUnknownRoot)
	}
	gen, err := c.source.RevocationGeneration(fingerprint)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	now := c.authority.Now()
	// One builder at a time: CRLs change rarely, and a burst of fetches
	// right after a revocation should sign once, not once per fetch.
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.cache[fingerprint]; e != nil && e.gen == gen && now.Before(e.thisUpdate.Add(CRLValidity/2)) {
		return e.der, e.thisUpdate, e.nextUpdate, nil
	}
	e, err := c.build(root, now)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	c.cache[fingerprint] = e
	return e.der, e.thisUpdate, e.nextUpdate, nil
}

func (c *CRLs) build(root *Root, now time.Time) (*crlEntry, error) {
	gen, list, err := c.source.Revocations(root.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("reading revocations: %w", err)
	}
	number, err := c.source.NextCRLNumber(root.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("numbering CRL: %w", err)
	}
	entries := make([]x509.RevocationListEntry, len(list))
	for i, r := range list {
		entries[i] = x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC(), ReasonCode: r.Reason}
	}
	this := now.UTC().Truncate(time.Second)
	next := this.Add(CRLValidity)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    number,
		ThisUpdate:                this,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
	}, root.Cert, root.Signer)
	if err != nil {
		return nil, fmt.Errorf("signing CRL: %w", err)
	}
	return &crlEntry{gen: gen, der: der, thisUpdate: this, nextUpdate: next}, nil
}
