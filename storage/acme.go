package storage

import (
	"math/big"
	"time"
)

// ACMEAccount is an ACME account. It acts for Owner, a certmaker user.
type ACMEAccount struct {
	ID         string    `json:"id"`
	Owner      string    `json:"owner"`
	Thumbprint string    `json:"thumbprint"` // RFC 7638 SHA-256, base64url
	Key        []byte    `json:"key"`        // the public JWK, as JSON
	Contact    []string  `json:"contact,omitempty"`
	Status     string    `json:"status"` // valid or deactivated
	EABKeyID   string    `json:"eab_key_id,omitempty"`
	Created    time.Time `json:"created"`
}

// ACMEIdentifier is an RFC 8555 identifier: type "dns" or "ip".
type ACMEIdentifier struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ACMEProblem is why an order or challenge failed. Kind is the core's
// error kind, which the ACME door turns into a problem document; records
// stored before kinds were kept have Type (the problem type URI) and
// Status instead.
type ACMEProblem struct {
	Kind   string `json:"kind,omitempty"`
	Type   string `json:"type,omitempty"`
	Detail string `json:"detail"`
	Status int    `json:"status,omitempty"`
}

// ACMEOrder is an order and, once finalized, the serial of its certificate.
type ACMEOrder struct {
	ID          string           `json:"id"`
	Account     string           `json:"account"`
	Status      string           `json:"status"`
	Identifiers []ACMEIdentifier `json:"identifiers"`
	Authzs      []string         `json:"authzs"`
	Expires     time.Time        `json:"expires"`
	Created     time.Time        `json:"created"`
	Error       *ACMEProblem     `json:"error,omitempty"`
	Serial      *big.Int         `json:"serial,omitempty"`
	// Replaces names the account's certificate this order renews, as the
	// newOrder's "replaces" did: RFC 9773's certID, its authority key
	// identifier and serial in base64url; "" if none.
	Replaces string `json:"replaces,omitempty"`
	// ReplacedBy is, on the order that got a certificate, the latest
	// order made to renew it ("replaces"); it may have failed or gone
	// since. "" if none.
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// ACMEAuthz is an authorization of one identifier for one order, with its
// challenges. A wildcard's authorization keeps the identifier as the
// order names it, "*.lab.home.lan", so that ACMEAuthzFor never hands a
// wildcard's proof to its base name or the other way round; the ACME door
// shows it as RFC 8555 7.1.4 says, the base name with "wildcard": true.
type ACMEAuthz struct {
	ID         string          `json:"id"`
	Account    string          `json:"account"`
	Order      string          `json:"order"`
	Identifier ACMEIdentifier  `json:"identifier"`
	Status     string          `json:"status"`
	Expires    time.Time       `json:"expires"`
	Challenges []ACMEChallenge `json:"challenges"`
}

// ACMEChallenge is one way to prove an authorization: Type is
// "http-01", "dns-01" or "tls-alpn-01".
type ACMEChallenge struct {
	ID        string       `json:"id"`
	Type      string       `json:"type"`
	Token     string       `json:"token"`
	Status    string       `json:"status"`
	Validated time.Time    `json:"validated,omitzero"`
	Error     *ACMEProblem `json:"error,omitempty"`
}

// ACMEEAB is a user's External Account Binding key (RFC 8555 7.3.4): who
// holds it may create ACME accounts that act for Owner.
type ACMEEAB struct {
	ID      string    `json:"id"`
	Owner   string    `json:"owner"`
	Key     []byte    `json:"key"` // HMAC key
	Created time.Time `json:"created"`
}

// ACMEEABInfo describes an EAB key without its secret.
type ACMEEABInfo struct {
	ID      string
	Owner   string
	Created time.Time
	// Accounts is how many accounts the key bound, in any status.
	Accounts int
}
