package core

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
)

// The ACME challenge types certmaker offers.
const (
	http01    = "http-01"     // RFC 8555 8.3
	dns01     = "dns-01"      // RFC 8555 8.4
	tlsALPN01 = "tls-alpn-01" // RFC 8737
)

// challengeTypes are the types offered to prove id: a wildcard only
// dns-01 (its base name's TXT record, RFC 8555 7.1.3), an IP address not
// dns-01 (RFC 8738 7), a DNS name any of the three; and http-01 and
// tls-alpn-01 only while the checker may connect to their port
// (challenge.allowed_ports), for a client that picks one the checker
// refuses fails the whole authorization (Caddy tries tls-alpn-01 by
// itself).
func (s *Service) challengeTypes(id storage.ACMEIdentifier) []string {
	var all []string
	switch {
	case id.Type == "ip":
		all = []string{http01, tlsALPN01}
	case ca.IsWildcard(id.Value):
		all = []string{dns01}
	default:
		all = []string{http01, dns01, tlsALPN01}
	}
	var out []string
	for _, typ := range all {
		switch {
		case typ == http01 && s.CheckPort(s.acme.HTTP01Port) != nil:
		case typ == tlsALPN01 && s.CheckPort(s.acme.TLSALPN01Port) != nil:
		default:
			out = append(out, typ)
		}
	}
	return out
}

// acmeTarget is what the checker must see to accept challenge ch of az
// for the account, and how an outcome names the check: the key
// authorization (token "." thumbprint) served over HTTP, its SHA-256 in
// base64url as the TXT record at _acme-challenge.<name> (a wildcard's base
// name), or its SHA-256 in the acmeIdentifier of the certificate a TLS
// server shows for acme-tls/1.
func (s *Service) acmeTarget(a *storage.ACMEAccount, az *storage.ACMEAuthz, ch storage.ACMEChallenge) (challenge.Target, string) {
	keyAuth := ch.Token + "." + a.Thumbprint
	id := az.Identifier.Value
	switch ch.Type {
	case dns01:
		sum := sha256.Sum256([]byte(keyAuth))
		return challenge.Target{Method: challenge.DNS, Identifier: id, Want: base64.RawURLEncoding.EncodeToString(sum[:])},
			"dns-01 for " + id
	case tlsALPN01:
		port := s.acme.TLSALPN01Port
		return challenge.Target{Method: challenge.TLSALPN, Identifier: id, Port: port, Want: keyAuth},
			fmt.Sprintf("tls-alpn-01 for %s on port %d", id, port)
	}
	port := s.acme.HTTP01Port
	return challenge.Target{Identifier: id, Port: port, Path: "/.well-known/acme-challenge/" + ch.Token, Want: keyAuth},
		fmt.Sprintf("http-01 for %s on port %d", id, port)
}

// ACMEAuthz reads one of the account's authorizations as a client sees it
// now (authzView).
func (s *Service) ACMEAuthz(_ context.Context, a *storage.ACMEAccount, id string) (storage.ACMEAuthz, error) {
	az, err := s.ownAuthz(a, id)
	if err != nil {
		return az, err
	}
	return s.authzView(az), nil
}

// ACMEChallenge reads one challenge of the account's authorization: the
// authorization as ACMEAuthz gives it and the challenge's index in it.
func (s *Service) ACMEChallenge(_ context.Context, a *storage.ACMEAccount, authz, id string) (storage.ACMEAuthz, int, error) {
	az, idx, err := s.ownACMEChallenge(a, authz, id)
	if err != nil {
		return az, idx, err
	}
	return s.authzView(az), idx, nil
}

// ownAuthz loads an authorization of the account: NotFound if there is
// none, Forbidden if it is another account's.
func (s *Service) ownAuthz(a *storage.ACMEAccount, id string) (storage.ACMEAuthz, error) {
	az, err := s.store.ACMEAuthz(id)
	if errors.Is(err, storage.ErrNotFound) {
		return az, Errorf(NotFound, "no such authorization")
	}
	if err != nil {
		return az, err
	}
	if az.Account != a.ID {
		return az, Errorf(Forbidden, "the authorization belongs to another account")
	}
	return az, nil
}

func (s *Service) ownACMEChallenge(a *storage.ACMEAccount, authz, id string) (storage.ACMEAuthz, int, error) {
	az, err := s.ownAuthz(a, authz)
	if err != nil {
		return az, -1, err
	}
	for i, ch := range az.Challenges {
		if ch.ID == id {
			return az, i, nil
		}
	}
	return az, -1, Errorf(NotFound, "no such challenge")
}

// authzView is the authorization as a client sees it now: expired once its
// time has passed, and a pending challenge processing while a request of
// this process validates it.
func (s *Service) authzView(az storage.ACMEAuthz) storage.ACMEAuthz {
	az.Status = s.authzStatus(&az)
	claimed := s.claimed(claimAuthz + az.ID)
	az.Challenges = append([]storage.ACMEChallenge(nil), az.Challenges...)
	for i := range az.Challenges {
		if c := &az.Challenges[i]; c.Status == acmePending && claimed {
			c.Status = acmeProcessing
		}
	}
	return az
}

// authzStatus is the stored status, or expired once its time has passed.
func (s *Service) authzStatus(az *storage.ACMEAuthz) string {
	switch az.Status {
	case acmePending, acmeValid:
		if s.ca.Now().After(az.Expires) {
			return acmeExpired
		}
	}
	return az.Status
}

// DeactivateACMEAuthz deactivates one of the account's authorizations
// (RFC 8555 7.5.2): status must be "deactivated". The authorization and
// the order it makes invalid are one commit.
func (s *Service) DeactivateACMEAuthz(ctx context.Context, a *storage.ACMEAccount, id, status string) (storage.ACMEAuthz, error) {
	az, err := s.ownAuthz(a, id)
	if err != nil {
		return az, err
	}
	if status != acmeDeactivated {
		return az, invalidf("an authorization's status can only be set to %q", acmeDeactivated)
	}
	az, _, err = s.store.UpdateACMEAuthz(az.ID, func(az *storage.ACMEAuthz) error {
		if st := s.authzStatus(az); st != acmePending && st != acmeValid {
			return invalidf("the authorization is %s and cannot be deactivated", st)
		}
		az.Status = acmeDeactivated
		return nil
	}, s.refreshOrder)
	if KindOf(err) != Invalid {
		err = s.noteWrite(ctx, err)
		s.audit(ctx, ACMEActor(a), "acme.authz.deactivate", id, err)
	}
	if err != nil {
		return az, err
	}
	return s.authzView(az), nil
}

// RespondACMEChallenge has one of the account's challenges validated now
// (RFC 8555 7.5.1): the checker fetches the key authorization from the
// identifier, and the outcome, the authorization's and the order it moves
// on are one commit, so the answer says valid or invalid only once that is
// durable. A challenge already answered, or being validated by another
// request, comes back as it stands. Expired for an authorization whose
// time has passed.
func (s *Service) RespondACMEChallenge(ctx context.Context, a *storage.ACMEAccount, authz, id string) (storage.ACMEAuthz, int, error) {
	az, idx, err := s.ownACMEChallenge(a, authz, id)
	if err != nil {
		return az, idx, err
	}
	if s.authzStatus(&az) == acmeExpired {
		return az, idx, fmt.Errorf("the authorization: %w", errExpired)
	}
	// A claim, not a stored state (acmeclaim.go): a crash during the
	// fetch leaves the challenge pending, and the client posts again.
	if az.Status != acmePending || az.Challenges[idx].Status != acmePending {
		return s.authzView(az), idx, nil
	}
	c, ok, err := s.claim(ctx, claimAuthz+az.ID, false)
	if err != nil {
		return az, idx, err
	}
	if !ok {
		return s.authzView(az), idx, nil
	}
	defer c.Release()
	// Read again under the claim: a request that held it until just now
	// may have recorded an outcome since az was read.
	if az, err = s.store.ACMEAuthz(az.ID); err != nil {
		return az, idx, err
	}
	if az.Status != acmePending || az.Challenges[idx].Status != acmePending {
		return s.authzView(az), idx, nil
	}
	az, err = s.validate(ctx, a, &az, idx)
	if err != nil {
		return az, idx, err
	}
	return s.authzView(az), idx, nil
}

// errNotPending stops the commit of an outcome for a challenge that is no
// longer pending.
var errNotPending = errors.New("challenge is not pending")

// validate proves the identifier with the challenge's type (acmeTarget
// says what the proof must show) and records the outcome. The checker
// bounds the checks of the account's user, whichever door they come from.
func (s *Service) validate(ctx context.Context, a *storage.ACMEAccount, az *storage.ACMEAuthz, idx int) (storage.ACMEAuthz, error) {
	target, what := s.acmeTarget(a, az, az.Challenges[idx])
	checkErr := errors.New("no challenge checker")
	if s.checker != nil {
		// A client hanging up must not leave the challenge half-recorded;
		// the checker bounds the fetch itself.
		checkErr = s.checker.CheckOne(context.WithoutCancel(ctx), a.Owner, target)
	}
	if checkErr != nil {
		// The checker's reason, not its whole message, which repeats the
		// identifier; the kind says how it failed (ChallengeDNS...).
		reason := checkErr.Error()
		var chErr *challenge.Error
		if errors.As(checkErr, &chErr) {
			reason = chErr.Reason
		}
		checkErr = Errorf(KindOf(checkErr), "%s: %s", what, reason)
	}
	now := s.ca.Now().UTC()
	updated, _, err := s.store.UpdateACMEAuthz(az.ID, func(stored *storage.ACMEAuthz) error {
		c := &stored.Challenges[idx]
		if stored.Status != acmePending || c.Status != acmePending {
			// Another server (or a deactivation) got there first.
			return errNotPending
		}
		if checkErr != nil {
			c.Status, stored.Status = acmeInvalid, acmeInvalid
			c.Error = problemOf(checkErr)
			return nil
		}
		c.Status, stored.Status, c.Validated = acmeValid, acmeValid, now
		return nil
	}, s.refreshOrder)
	if errors.Is(err, errNotPending) {
		return s.store.ACMEAuthz(az.ID)
	}
	if err := s.noteWrite(ctx, err); err != nil {
		return updated, err
	}
	s.audit(ctx, ACMEActor(a), "acme.challenge.validate", az.ID, checkErr,
		slog.String("identifier", az.Identifier.Value), slog.String("type", az.Challenges[idx].Type))
	return updated, nil
}
