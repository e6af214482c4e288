// Package inventory answers what an operator asks of a CA: what has been
// issued, to whom, what expires soon, and how healthy it all is. The CLI,
// the JSON API and the dashboard all describe certificates through it, so
// they always agree.
package inventory

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"certmaker/ca"
	"certmaker/storage"
)

// Store is what listing needs from storage.
type Store interface {
	ListCertificates(q storage.ListQuery) ([]storage.Certificate, []byte, error)
}

// Limits of one page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// ErrInvalid marks a query refused for its values.
var ErrInvalid = errors.New("invalid query")

// Query selects certificates. Each is answered from one index of the
// store, in its order: by name (then newest first) when Name is set,
// revoked ones newest first, expiring ones soonest first, else newest
// first.
type Query struct {
	Owner    string        // "" for everyone's
	Revoked  bool          // revoked ones only
	Expiring time.Duration // > 0: unrevoked ones expiring within this
	// Name keeps certificates with this name; a leading dot
	// (".home.lan") keeps the name and everything under it (NameQuery).
	Name string
	// EndsFrom and EndsTo, if either is set, keep unrevoked certificates
	// whose not-after lies in [EndsFrom, EndsTo) (a zero EndsTo has no
	// end), soonest first; the dashboard's status and date filters.
	EndsFrom, EndsTo time.Time
	Limit            int    // 0 is DefaultLimit
	Cursor           string // from a previous Page
}

// Certificate is how certmaker describes one certificate to people.
type Certificate struct {
	ID        string     `json:"id"`
	Serial    string     `json:"serial_hex"`
	Names     []string   `json:"names"`
	Owner     string     `json:"owner"`
	KeyType   string     `json:"key_type"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	Status    string     `json:"status"` // valid, expired or revoked
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Reason    string     `json:"revocation_reason,omitempty"`
	Subject   string     `json:"subject"`
	Issuer    string     `json:"issuer"`
	// Root is the fingerprint of the root at the top of the chain, what
	// devices trust; IssuerFingerprint that of the CA that signed it (an
	// intermediate; the root itself for a one-tier root). Both are
	// lowercase hex, as URLs hold them.
	Root              string   `json:"root_fingerprint"`
	IssuerFingerprint string   `json:"issuer_fingerprint"`
	Fingerprint       string   `json:"sha256_fingerprint"`
	HasPrivateKey     bool     `json:"has_private_key"`
	OCSPServer        []string `json:"ocsp_urls,omitempty"`
	CRL               []string `json:"crl_urls,omitempty"`
}

// Statuses.
const (
	StatusValid   = "valid"
	StatusExpired = "expired"
	StatusRevoked = "revoked"
)

// Page is one page of a listing.
type Page struct {
	Certificates []Certificate `json:"certificates"`
	NextCursor   string        `json:"next_cursor,omitempty"`
}

// Issuers finds a root or an intermediate by its fingerprint (a
// ca.Authority does), to name the root a certificate chains to.
type Issuers interface {
	Issuer(fingerprint string) *ca.Issuer
}

// Describe turns a stored certificate into its description at time now;
// cas knows its issuer's root.
func Describe(c storage.Certificate, cas Issuers, now time.Time) (Certificate, error) {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return Certificate{}, fmt.Errorf("certificate %s: %w", c.Serial, err)
	}
	d := Certificate{
		ID:                c.Serial.String(),
		Serial:            hex.EncodeToString(c.Serial.Bytes()),
		Names:             c.Names,
		Owner:             c.Owner,
		KeyType:           c.KeyType,
		NotBefore:         cert.NotBefore,
		NotAfter:          cert.NotAfter,
		Status:            StatusValid,
		Subject:           cert.Subject.String(),
		Issuer:            cert.Issuer.String(),
		IssuerFingerprint: c.Root, // what the record calls its root is its issuer
		Fingerprint:       ca.Fingerprint(c.DER),
		HasPrivateKey:     c.KeyPKCS8 != nil,
		OCSPServer:        cert.OCSPServer,
		CRL:               cert.CRLDistributionPoints,
	}
	if iss := cas.Issuer(c.Root); iss != nil {
		d.Root = iss.Anchor().Fingerprint
	}
	switch {
	case c.Revoked:
		at := c.RevokedAt
		d.Status, d.RevokedAt, d.Reason = StatusRevoked, &at, ca.ReasonName(c.Reason)
	case !now.Before(cert.NotAfter):
		d.Status = StatusExpired
	}
	return d, nil
}

// List returns one page of certificates matching q, described as
// Describe does.
func List(s Store, cas Issuers, q Query, now time.Time) (Page, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit {
		return Page{}, fmt.Errorf("%w: limit %d (want 1 to %d)", ErrInvalid, q.Limit, MaxLimit)
	}
	sq := storage.ListQuery{Owner: q.Owner, RevokedOnly: q.Revoked, Limit: limit,
		ExpiringAfter: q.EndsFrom, ExpiringBefore: q.EndsTo}
	if q.Expiring < 0 {
		return Page{}, fmt.Errorf("%w: expiring window is negative", ErrInvalid)
	}
	if q.Expiring > 0 {
		sq.ExpiringAfter, sq.ExpiringBefore = later(sq.ExpiringAfter, now), earlier(sq.ExpiringBefore, now.Add(q.Expiring))
	}
	if sq.Expiring() && sq.ExpiringAfter.IsZero() {
		// Either bound selects by expiry; the zero time is no bound.
		sq.ExpiringAfter = time.Unix(0, 0)
	}
	if q.Name != "" {
		name, suffix, err := NameQuery(q.Name)
		if err != nil {
			return Page{}, err
		}
		sq.Name, sq.NameSuffix = name, suffix
	}
	if q.Cursor != "" {
		b, err := hex.DecodeString(q.Cursor)
		if err != nil || len(b) < 9 || len(b) > storage.MaxCursor { // every cursor ends in a sort key
			return Page{}, fmt.Errorf("%w: cursor %.80q is not one this server handed out", ErrInvalid, q.Cursor)
		}
		sq.Before = b
	}
	recs, next, err := s.ListCertificates(sq)
	if err != nil {
		return Page{}, err
	}
	page := Page{Certificates: make([]Certificate, 0, len(recs))}
	for _, r := range recs {
		d, err := Describe(r, cas, now)
		if err != nil {
			return Page{}, err
		}
		page.Certificates = append(page.Certificates, d)
	}
	if next != nil {
		// A page may be short (or empty) when a filter matched little of
		// what one page may read; the cursor goes on from there.
		page.NextCursor = hex.EncodeToString(next)
	}
	return page, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// NameQuery reads a name to search for as certificates hold names: lower
// case, without a trailing dot; a leading dot (".home.lan") asks for the
// name and every name under it (suffix).
func NameQuery(s string) (name string, suffix bool, err error) {
	name = strings.TrimSuffix(strings.ToLower(s), ".")
	name, suffix = strings.CutPrefix(name, ".")
	bad := fmt.Errorf("%w: %.80q is not a DNS name or IP address to search for", ErrInvalid, s)
	if name == "" || len(name) > 253 || strings.Contains(name, "..") || strings.HasPrefix(name, ".") {
		return "", false, bad
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-.*_:", r)) {
			return "", false, bad
		}
	}
	return name, suffix, nil
}

// ParseWindow reads a time window as operators write it: "14d", "2w",
// "36h", "90m" (a bare number is days).
func ParseWindow(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	bad := fmt.Errorf("%w: %.20q is not a window such as 14d, 2w or 36h", ErrInvalid, s)
	unit := 24 * time.Hour
	num := s
	switch {
	case strings.HasSuffix(s, "d"):
		num = s[:len(s)-1]
	case strings.HasSuffix(s, "w"):
		num, unit = s[:len(s)-1], 7*24*time.Hour
	case strings.HasSuffix(s, "h"), strings.HasSuffix(s, "m"):
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, bad
		}
		return d, nil
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 || n > 36500 {
		return 0, bad
	}
	return time.Duration(n) * unit, nil
}
