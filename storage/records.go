package storage

import (
	"math/big"
	"slices"
	"time"
)

// User is an API user. The token itself is never stored, only its SHA-256.
type User struct {
	Name      string    `json:"name"`
	Admin     bool      `json:"admin,omitempty"`
	Disabled  bool      `json:"disabled,omitempty"`
	Created   time.Time `json:"created"`
	TokenHash []byte    `json:"token_hash"`

	// Policy is what the user may ask for; the zero policy (every user
	// stored before policies existed) leaves only the CA's own limits.
	Policy Policy `json:"policy,omitzero"`
}

// Clone is a copy of u that shares nothing with it, for a store that hands
// out what it keeps (a cache): callers own what they get.
func (u User) Clone() User {
	u.TokenHash = slices.Clone(u.TokenHash)
	u.Policy = u.Policy.Clone()
	return u
}

// Policy is a user's issuance policy as stored: the rules in their
// canonical text, as the core parsed and wrote them (core/policy.go says
// what each means). The store keeps it with the user, so that whatever
// reads a user (a token, a session, an ACME account's owner) reads the
// policy of that same moment.
type Policy struct {
	// Allow and Deny hold names ("nas.home.lan", ".home.lan",
	// "*.home.lan"), IP ranges ("192.168.0.0/16", "192.168.1.20") and
	// email rules ("@home.lan", "@.home.lan", "ops@home.lan").
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
	// MaxDays bounds a certificate's validity; 0 leaves the CA's bound.
	MaxDays int `json:"max_days,omitempty"`
	// KeyTypes lists the key types allowed (ca.KeyType names), for keys
	// the server makes and keys in CSRs alike; empty allows every one.
	KeyTypes []string `json:"key_types,omitempty"`
	// Challenge is "required", "optional", or "" for the CA's setting.
	Challenge string `json:"challenge,omitempty"`
}

// IsZero reports whether p leaves everything to the CA.
func (p Policy) IsZero() bool {
	return len(p.Allow) == 0 && len(p.Deny) == 0 && p.MaxDays == 0 && len(p.KeyTypes) == 0 && p.Challenge == ""
}

// Clone is a copy of p that shares no slice with it.
func (p Policy) Clone() Policy {
	p.Allow = slices.Clone(p.Allow)
	p.Deny = slices.Clone(p.Deny)
	p.KeyTypes = slices.Clone(p.KeyTypes)
	return p
}

// Root is a CA certificate with its private key (PKCS#8): a root, or an
// intermediate that the root Parent names signed.
type Root struct {
	Fingerprint string `json:"fingerprint"`
	CertDER     []byte `json:"cert"`
	// KeyPKCS8 is nil while a root's key is offline.
	KeyPKCS8 []byte `json:"key"`
	// Parent is the fingerprint of the root that signed an intermediate;
	// "" for a root.
	Parent  string    `json:"parent,omitempty"`
	Created time.Time `json:"created"`
	// CRL is a two-tier root's last signed CRL (DER), kept so that it is
	// served while the root's key is offline.
	CRL []byte `json:"crl,omitempty"`

	// Revoked marks an intermediate its root's CRL lists, since RevokedAt
	// for Reason (RFC 5280 CRLReason).
	Revoked   bool      `json:"revoked,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    int       `json:"reason,omitempty"`

	// RenewStart and RenewEnd, when set, are the renewal window (RFC 9773)
	// an operator gave every certificate this CA, or a CA under it,
	// issued before RenewStart (`certmaker cert renew-soon`): after a key
	// compromise, say, ACME clients that ask renew within it.
	RenewStart time.Time `json:"renew_start,omitzero"`
	RenewEnd   time.Time `json:"renew_end,omitzero"`
}

// Certificate is an issued leaf.
type Certificate struct {
	Serial   *big.Int  `json:"-"`
	DER      []byte    `json:"der"`
	Owner    string    `json:"owner"`
	Root     string    `json:"root"`          // fingerprint of the issuing root
	KeyPKCS8 []byte    `json:"key,omitempty"` // nil when issued from a CSR
	KeyType  string    `json:"key_type"`
	Names    []string  `json:"names"`
	NotAfter time.Time `json:"not_after"`
	Created  time.Time `json:"created"`

	Revoked   bool      `json:"revoked,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Reason    int       `json:"reason,omitempty"` // RFC 5280 CRLReason
}

// CertificateStatus is the part of a certificate record that an OCSP
// answer depends on, read without the rest (see DB.CertificateStatus).
type CertificateStatus struct {
	Root      string // fingerprint of the issuing root
	Revoked   bool
	RevokedAt time.Time
	Reason    int // RFC 5280 CRLReason
}

// Challenge is a request waiting for its requester to prove control of its
// names. Request holds the simple request's JSON, as validated; for a CSR
// (CSR set) it holds the request made of the CSR, and PublicKey the CSR's
// key, never the CSR itself (up to 64 KiB of whatever a client put in it).
// A CSR request stored before PublicKey existed holds the PEM CSR as
// received in Request, and no PublicKey.
type Challenge struct {
	ID      string    `json:"id"`
	Owner   string    `json:"owner"`
	Token   string    `json:"token"`
	CSR     bool      `json:"csr,omitempty"`
	Request []byte    `json:"request"`
	Days    int       `json:"days,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Serial is set once solved, so that solving again answers the same.
	Serial *big.Int `json:"serial,omitempty"`

	// PublicKey is a CSR's key, PKIX (SubjectPublicKeyInfo) DER.
	PublicKey []byte `json:"public_key,omitempty"`

	// Proof is how the names must be proven: "" (stored before there was
	// a choice) or "http", the token served over HTTP; "dns", the token
	// as the TXT record at _acme-challenge.<name> of each DNS name.
	Proof string `json:"proof,omitempty"`
}

// Revocation is one entry of a root's revocation index, what a CRL lists.
type Revocation struct {
	Serial *big.Int  `json:"-"`
	At     time.Time `json:"at"`
	Reason int       `json:"reason,omitempty"`
}
