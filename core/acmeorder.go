package core

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
)

// ACMEOrderRequest is a newOrder's payload (RFC 8555 7.4).
type ACMEOrderRequest struct {
	Identifiers []storage.ACMEIdentifier
	// NotBefore and NotAfter are refused: certmaker sets the validity.
	NotBefore, NotAfter string
	// Replaces is the certificate the order renews (RFC 9773 5), as
	// ParseCertID reads it; nil if none.
	Replaces *CertID
}

// NewACMEOrder makes an order for the identifiers, with an authorization
// for each: one of the account's that is valid for a while yet (reused;
// a wildcard's is its own, never its base name's), else a new one with
// the challenges that can prove it (challengeTypes), valid from the start
// for the names certmaker never checks (challenge.Exempt). The order and
// its new authorizations are one commit. Errors: Invalid (also a
// "replaces" that names no certificate of the account, or none of its
// identifiers), RejectedIdentifier (a name no challenge offered can prove,
// one outside the root's name constraints, or for an account without a
// binding one that needs no proof), PolicyDenied (one the policy of the
// account's user refuses), UnsupportedIdentifier, TooMany (the account's
// live orders, or the certificates of accounts without a binding, at
// their cap), AlreadyReplaced, Full.
func (s *Service) NewACMEOrder(ctx context.Context, a *storage.ACMEAccount, req ACMEOrderRequest) (storage.ACMEOrder, error) {
	ids, err := s.acmeIdentifiers(req)
	if err != nil {
		return storage.ACMEOrder{}, err
	}
	// The account acts for its user, under that user's policy, checked
	// before any authorization is made.
	if err := s.orderPolicy(ctx, a, ids); err != nil {
		s.audit(ctx, ACMEActor(a), "acme.order.create", "", err, slog.Int("identifiers", len(ids)))
		return storage.ACMEOrder{}, err
	}
	// Not audited when refused: strangers' refusals would grow the log as
	// fast as they are sent; the cap's warning says it once.
	if err := s.underCertificateCap(ctx, a); err != nil {
		return storage.ACMEOrder{}, err
	}
	now := s.ca.Now().UTC()
	orderID, err := newID()
	if err != nil {
		return storage.ACMEOrder{}, err
	}
	o := storage.ACMEOrder{ID: orderID, Account: a.ID, Status: acmePending, Expires: now.Add(s.challengeExpiry), Created: now}
	var replaced storage.ACMEOrder
	if req.Replaces != nil {
		if replaced, err = s.replaceable(a, *req.Replaces, ids); err != nil {
			return storage.ACMEOrder{}, err
		}
		o.Replaces = req.Replaces.String()
	}
	// Counted and stored as one step per account, on every node
	// (acmelimit.go).
	held, _, err := s.claim(ctx, claimAccountOrders+a.ID, true)
	if err != nil {
		return storage.ACMEOrder{}, err
	}
	defer held.Release()
	if err := s.underOrderCap(a, len(ids), now); err != nil {
		s.audit(ctx, ACMEActor(a), "acme.order.create", "", err, slog.Int("identifiers", len(ids)))
		return storage.ACMEOrder{}, err
	}
	var created []storage.ACMEAuthz
	ready := true
	for _, id := range ids {
		az, ok := s.reusableAuthz(a, id, now)
		if !ok {
			if az, err = s.newAuthz(a, orderID, id, o.Expires); err != nil {
				return storage.ACMEOrder{}, err
			}
			created = append(created, az)
		}
		// An order lives no longer than the authorizations it needs.
		o.Expires = minTime(o.Expires, az.Expires)
		ready = ready && az.Status == acmeValid
		o.Identifiers = append(o.Identifiers, id)
		o.Authzs = append(o.Authzs, az.ID)
	}
	if ready {
		o.Status = acmeReady
	}
	if o.Replaces != "" {
		if err := s.markReplaced(ctx, &replaced, o.ID); err != nil {
			return storage.ACMEOrder{}, err
		}
	}
	err = s.noteWrite(ctx, held.Fenced().CreateACMEOrder(o, created))
	s.audit(ctx, ACMEActor(a), "acme.order.create", o.ID, err,
		slog.Int("identifiers", len(ids)), slog.Int("reused", len(ids)-len(created)))
	if err != nil {
		return storage.ACMEOrder{}, err
	}
	return s.orderView(o), nil
}

// acmeIdentifiers checks an order's identifiers and returns them in
// canonical form without duplicates: each a DNS name or IP address that a
// challenge can prove (the rule of every door, provable) and the active
// root may certify.
func (s *Service) acmeIdentifiers(req ACMEOrderRequest) ([]storage.ACMEIdentifier, error) {
	switch {
	case req.NotBefore != "" || req.NotAfter != "":
		return nil, invalidf("notBefore and notAfter are not supported: certmaker sets the validity")
	case len(req.Identifiers) == 0:
		return nil, invalidf("an order needs at least one identifier")
	case len(req.Identifiers) > ca.MaxNames:
		return nil, Errorf(RejectedIdentifier, "%d identifiers, at most %d per order", len(req.Identifiers), ca.MaxNames)
	}
	var ids []storage.ACMEIdentifier
	seen := make(map[storage.ACMEIdentifier]bool, len(req.Identifiers))
	for _, id := range req.Identifiers {
		n, err := acmeIdentifier(id)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			ids = append(ids, n)
		}
	}
	creq := identifiersRequest(ids)
	if err := creq.Normalize(); err != nil {
		return nil, Errorf(RejectedIdentifier, "%w", err)
	}
	if err := provable(creq, proofAny); err != nil {
		return nil, Errorf(RejectedIdentifier, "%w", err)
	}
	if err := s.ca.Permits(creq); err != nil {
		return nil, Errorf(RejectedIdentifier, "%w", err)
	}
	for _, id := range ids {
		if !challenge.Exempt(id.Value) && len(s.challengeTypes(id)) == 0 {
			return nil, Errorf(RejectedIdentifier, "no challenge this CA can carry out proves %s: neither [acme] http01_port (%d) nor tls_alpn01_port (%d) is one of challenge.allowed_ports",
				id.Value, s.acme.HTTP01Port, s.acme.TLSALPN01Port)
		}
	}
	return ids, nil
}

// orderPolicy holds an order's identifiers to the policy of the user the
// account acts for; and an account without a binding (which anyone may
// make when require_eab is off) orders none of the names certmaker
// never validates (challenge.Exempt) unless that policy allows it by an
// allow rule: it would get certificates for nothing, and as many as it
// likes.
func (s *Service) orderPolicy(ctx context.Context, a *storage.ACMEAccount, ids []storage.ACMEIdentifier) error {
	u, err := s.accountUser(ctx, a)
	if err != nil {
		return err
	}
	if err := s.checkPolicy(&u, identifiersRequest(ids), "", nil); err != nil {
		return forAccount(a, err)
	}
	if a.EABKeyID != "" {
		return nil
	}
	for _, id := range ids {
		if !challenge.Exempt(id.Value) {
			continue
		}
		if ok, err := policyAllowsByRule(&u, id); err != nil || !ok {
			return Errorf(RejectedIdentifier, "%s needs no proof here, so an account without an External Account Binding may not order it", id.Value)
		}
	}
	return nil
}

// acmeIdentifier checks one identifier and returns its canonical form.
func acmeIdentifier(id storage.ACMEIdentifier) (storage.ACMEIdentifier, error) {
	switch id.Type {
	case "dns":
		n, err := ca.NormalizeDNSName(id.Value)
		if err != nil {
			return id, Errorf(RejectedIdentifier, "%w", err)
		}
		return storage.ACMEIdentifier{Type: "dns", Value: n}, nil
	case "ip":
		a, err := ca.NormalizeIP(id.Value)
		if err != nil {
			return id, Errorf(RejectedIdentifier, "%w", err)
		}
		return storage.ACMEIdentifier{Type: "ip", Value: a.String()}, nil
	}
	return id, Errorf(UnsupportedIdentifier, "identifier type %.40q: only dns and ip are supported", id.Type)
}

// identifiersRequest is the certificate request canonical identifiers make.
func identifiersRequest(ids []storage.ACMEIdentifier) *ca.Request {
	req := &ca.Request{}
	for _, id := range ids {
		if id.Type == "ip" {
			a, _ := netip.ParseAddr(id.Value)
			req.IPs = append(req.IPs, a)
		} else {
			req.DNSNames = append(req.DNSNames, id.Value)
		}
	}
	return req
}

// reusableAuthz is the account's latest authorization of id if it is
// valid and stays so for at least half an order's lifetime: a client that
// renews soon after proving a name does not prove it again, and no order
// is made that expires almost at once.
func (s *Service) reusableAuthz(a *storage.ACMEAccount, id storage.ACMEIdentifier, now time.Time) (storage.ACMEAuthz, bool) {
	az, err := s.store.ACMEAuthzFor(a.ID, id)
	if err != nil || az.Account != a.ID || az.Status != acmeValid {
		return storage.ACMEAuthz{}, false
	}
	return az, az.Expires.After(now.Add(s.challengeExpiry / 2))
}

// newAuthz makes a pending authorization with a challenge of each type
// that can prove its identifier (challengeTypes), all with one token. The
// names certmaker never validates (localhost, 127.0.0.1 and ::1; see
// challenge.Exempt) are valid from the start, as for the other doors.
func (s *Service) newAuthz(a *storage.ACMEAccount, orderID string, id storage.ACMEIdentifier, expires time.Time) (storage.ACMEAuthz, error) {
	azID, err := newID()
	if err != nil {
		return storage.ACMEAuthz{}, err
	}
	token, err := challenge.Token()
	if err != nil {
		return storage.ACMEAuthz{}, err
	}
	az := storage.ACMEAuthz{
		ID: azID, Account: a.ID, Order: orderID, Identifier: id,
		Status: acmePending, Expires: expires,
	}
	if challenge.Exempt(id.Value) {
		// Nothing is checked: one challenge, valid already.
		chID, err := newID()
		if err != nil {
			return storage.ACMEAuthz{}, err
		}
		az.Status = acmeValid
		az.Challenges = []storage.ACMEChallenge{{ID: chID, Type: http01, Token: token, Status: acmeValid, Validated: s.ca.Now().UTC()}}
		return az, nil
	}
	for _, typ := range s.challengeTypes(id) {
		chID, err := newID()
		if err != nil {
			return storage.ACMEAuthz{}, err
		}
		az.Challenges = append(az.Challenges, storage.ACMEChallenge{ID: chID, Type: typ, Token: token, Status: acmePending})
	}
	return az, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ACMEOrder reads one of the account's orders, with its status as of now.
func (s *Service) ACMEOrder(_ context.Context, a *storage.ACMEAccount, id string) (storage.ACMEOrder, error) {
	o, err := s.ownOrder(a, id)
	if err != nil {
		return o, err
	}
	return s.orderView(o), nil
}

// ownOrder loads an order of the account: NotFound if there is none,
// Forbidden if it is another account's.
func (s *Service) ownOrder(a *storage.ACMEAccount, id string) (storage.ACMEOrder, error) {
	o, err := s.store.ACMEOrder(id)
	if errors.Is(err, storage.ErrNotFound) {
		return o, Errorf(NotFound, "no such order")
	}
	if err != nil {
		return o, err
	}
	if o.Account != a.ID {
		return o, Errorf(Forbidden, "the order belongs to another account")
	}
	return o, nil
}

// orderView is the order as a client sees it now: orderStatus, then what
// its authorizations say as they stand (an authorization reused from
// another order that was deactivated or expired since makes it invalid,
// RFC 8555 7.1.6, which only the authorization's own order is told of
// when it happens), and processing while a request of this process
// finalizes it.
func (s *Service) orderView(o storage.ACMEOrder) storage.ACMEOrder {
	o.Status = s.orderStatus(&o)
	if o.Status == acmePending || o.Status == acmeReady {
		if azs, err := s.orderAuthzs(&o); err == nil {
			s.refreshOrder(&o, azs)
		}
	}
	if o.Status == acmeReady && s.claimed(claimOrder+o.ID) {
		o.Status = acmeProcessing // acmeclaim.go
	}
	return o
}

// orderStatus is the stored status, except that an order not yet valid
// turns invalid when it expires (RFC 8555 7.1.6), ready ones included.
func (s *Service) orderStatus(o *storage.ACMEOrder) string {
	switch o.Status {
	case acmePending, acmeReady:
		if s.ca.Now().After(o.Expires) {
			return acmeInvalid
		}
	}
	return o.Status
}

// orderAuthzs reads the order's authorizations as they stand.
func (s *Service) orderAuthzs(o *storage.ACMEOrder) ([]storage.ACMEAuthz, error) {
	azs := make([]storage.ACMEAuthz, len(o.Authzs))
	for i, id := range o.Authzs {
		az, err := s.store.ACMEAuthz(id)
		if err != nil {
			return nil, err
		}
		azs[i] = az
	}
	return azs, nil
}

// refreshOrder moves a pending order to ready once every authorization
// is valid, or to invalid once one is not going to be. It runs in the
// commit that changes one of the authorizations (authzs are all of the
// order's, as that commit leaves them); it may run more than once.
func (s *Service) refreshOrder(o *storage.ACMEOrder, authzs []storage.ACMEAuthz) error {
	if o.Status != acmePending && o.Status != acmeReady {
		return nil
	}
	status := acmeReady
	var prob *storage.ACMEProblem
	for i := range authzs {
		az := &authzs[i]
		switch st := s.authzStatus(az); st {
		case acmeValid:
		case acmePending:
			status = acmePending
		default:
			status = acmeInvalid
			prob = problemOf(Errorf(Forbidden, "authorization for %s is %s", az.Identifier.Value, st))
			for _, c := range az.Challenges {
				if c.Error != nil {
					prob = c.Error // the failed challenge's reason
					break
				}
			}
		}
		if status == acmeInvalid {
			break
		}
	}
	o.Status, o.Error = status, prob
	return nil
}
