package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"certmaker/storage"
)

// ACME's rules and state live here, beside the other doors' rules, as
// Boulder's registration authority holds them for its front end: accounts
// and the External Account Binding that decides which user one acts for
// (acmeaccount.go, acmeeab.go), orders and the names they may ask for
// (acmeorder.go), authorizations and what an http-01, dns-01 or
// tls-alpn-01 proof must show (acmeauthz.go), finalize (acmefinalize.go),
// renewal information (acmeari.go), and which of them a request of this
// process is working on (acmeclaim.go). The acme package verifies
// JWS and nonces, decodes, calls these and encodes; it keeps nothing.
//
// Every call takes the account of a request whose signature the door has
// verified with that account's key (ACMEAccount, then ACMEAccountActs).
// Every write goes through noteWrite, so a full disk is Full here as for
// every other door, and every state change writes its audit line.

// ACMEConfig says how ACME accounts and orders behave.
type ACMEConfig struct {
	// Enabled checks the rest when the service is built.
	Enabled bool
	// RequireEAB refuses new accounts without an External Account
	// Binding. Without one (when allowed), accounts act for DefaultUser.
	RequireEAB  bool
	DefaultUser string
	// HTTP01Port is where http-01 tokens are fetched; default 80.
	HTTP01Port int
	// TLSALPN01Port is where tls-alpn-01 proofs are asked for; default
	// 443 (RFC 8737 3).
	TLSALPN01Port int
	// Days is the validity asked for ACME certificates; the authority
	// clamps it. 0 is the authority's default.
	Days int
	// MaxAccountIdentifiers bounds the identifiers one account's orders
	// that have not expired name together; default 300 (acmelimit.go).
	MaxAccountIdentifiers int
	// MaxUnboundAccounts bounds the accounts without a binding; default
	// 100.
	MaxUnboundAccounts int
	// MaxUnboundCertificates bounds the certificates accounts without a
	// binding get, in all and for good; default 10,000.
	MaxUnboundCertificates int
	// ClusterNoncesPerMinute bounds the nonces of a shared store the ACME
	// door hands out per minute (acme/nonce.go); default 6,000.
	ClusterNoncesPerMinute int
}

func (c *ACMEConfig) check() error {
	if c.HTTP01Port == 0 {
		c.HTTP01Port = 80
	}
	if c.TLSALPN01Port == 0 {
		c.TLSALPN01Port = 443
	}
	if c.MaxAccountIdentifiers <= 0 {
		c.MaxAccountIdentifiers = 300
	}
	if c.MaxUnboundAccounts <= 0 {
		c.MaxUnboundAccounts = 100
	}
	if c.MaxUnboundCertificates <= 0 {
		c.MaxUnboundCertificates = 10000
	}
	if c.ClusterNoncesPerMinute <= 0 {
		c.ClusterNoncesPerMinute = 6000
	}
	switch {
	case !c.Enabled:
	case !c.RequireEAB && c.DefaultUser == "":
		return errors.New("acme: without require_eab, a default user is needed for accounts without a binding")
	case c.HTTP01Port < 1 || c.HTTP01Port > 65535:
		return errors.New("acme: http-01 port outside 1..65535")
	case c.TLSALPN01Port < 1 || c.TLSALPN01Port > 65535:
		return errors.New("acme: tls-alpn-01 port outside 1..65535")
	}
	return nil
}

// ACMERequiresBinding reports whether new ACME accounts need an External
// Account Binding (the directory's externalAccountRequired).
func (s *Service) ACMERequiresBinding() bool { return s.acme.RequireEAB }

// ACMENonceKey is the key that authenticates ACME nonces, made on first
// use; the ACME door asks for it once.
func (s *Service) ACMENonceKey() ([]byte, error) { return s.store.ACMENonceKey() }

// SharedACMENonces reports whether several nodes serve the store, so that
// a nonce one handed out may come back to another, and its use must be
// recorded in the store (SpendACMENonce) rather than in the door's memory.
func (s *Service) SharedACMENonces() bool { return s.store.Shared() }

// SharedACMENoncesPerMinute is how many nonces of a shared store the ACME
// door may hand out per minute: each used one is a record in the store
// until it is too old to be used.
func (s *Service) SharedACMENoncesPerMinute() int { return s.acme.ClusterNoncesPerMinute }

// SpendACMENonce records that a nonce was used, once among every node:
// Exists if it was before. The record may go after until.
func (s *Service) SpendACMENonce(nonce []byte, until time.Time) error {
	return s.noteWrite(context.Background(), s.store.SpendNonce(nonce, until))
}

// Statuses of ACME accounts, orders, authorizations and challenges (RFC
// 8555 7.1.6).
const (
	acmeValid       = "valid"
	acmePending     = "pending"
	acmeReady       = "ready"
	acmeProcessing  = "processing"
	acmeInvalid     = "invalid"
	acmeDeactivated = "deactivated"
	acmeExpired     = "expired"
)

// ACMEActor is an ACME account as the audit trail and the owner rule know
// it: it acts for its user, and may revoke what it ordered; one without a
// binding only what it ordered (Actor.Unbound).
func ACMEActor(a *storage.ACMEAccount) Actor {
	return Actor{Door: DoorACME, User: a.Owner, Account: a.ID, Unbound: a.EABKeyID == ""}
}

// newID is 128 random bits, base64url: unguessable resource ids.
func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// problemOf is what an order or challenge keeps of why it failed: the
// error's kind, which the ACME door turns into a problem type, and its
// message.
func problemOf(err error) *storage.ACMEProblem {
	return &storage.ACMEProblem{Kind: string(KindOf(err)), Detail: err.Error()}
}
