package core

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"certmaker/storage"
)

// Nothing ACME stores may grow without bound for who holds no credential.
// With require_eab = false an account costs a key pair, so:
//   - a client address (an IPv6 client by its /64, which one host usually
//     has all of) makes at most signupsPerClient accounts without a
//     binding per signupWindow, counted in a table of at most
//     maxSignupClients addresses (the table itself is kept for strangers);
//   - accounts without a binding are at most MaxUnboundAccounts at a
//     time: the sweep deletes one once nothing of it has lasted for
//     unboundIdle (SweepACME), so strangers cannot hold the cap for good;
//   - one account's orders that have not expired name at most
//     MaxAccountIdentifiers identifiers together, in any status: pending
//     and ready orders and their authorizations until the sweep takes
//     them, valid ones as certificates;
//   - accounts without a binding get at most MaxUnboundCertificates
//     certificates in all, for good: a certificate is the CA's record and
//     stays, so a rate alone would still fill the disk. Past it they are
//     refused until the operator raises it; strangers can use up this
//     path, never the disk. Their orders go once their certificates have
//     expired.
//
// Bound accounts need a key from the operator and keep only the
// per-account limit, which the operator sets.
const (
	signupsPerClient = 10
	signupWindow     = time.Hour
	maxSignupClients = 10000
	// unboundIdle is how long an account without a binding is kept once
	// nothing of it (its creation, an order, a certificate) lasts.
	unboundIdle = 7 * 24 * time.Hour
	// accountCapRetry is the Retry-After at max_unbound_accounts: the
	// sweep, hourly, may free a place.
	accountCapRetry = time.Hour
	// certificateCapRetry is the Retry-After at max_unbound_certificates:
	// only the operator frees it.
	certificateCapRetry = 24 * time.Hour
)

// Each limit is a count and a write that must not interleave with
// another's, on whichever node of the store it runs: a claim
// (acmeclaim.go) holds them together, and the write goes through the
// claim's Fenced store, so that a node that stalled past its claim writes
// nothing.
//   - new accounts without a binding: one claim, claimUnboundAccounts,
//     over the count and the account's write;
//   - an account's orders: a claim per account, claimAccountOrders;
//   - the certificates of accounts without a binding: one claim,
//     claimUnboundCertificates, that a finalize of such an account takes
//     (within its order's claim) over the count, the signing and the
//     commit. Such finalizes run one at a time on the whole store: there
//     are at most MaxUnboundCertificates of them ever, and accounts with
//     a binding, which issue without it, never wait for them.
//
// What a node keeps for itself: the signups table (a client that reaches
// every node makes signupsPerClient accounts on each per window, within
// the account cap of them all) and whether it warned of a cap.

// acmeLimits holds what this process keeps of those limits.
type acmeLimits struct {
	signups signups
	// capWarned, certCapWarned: the unbound account cap, the unbound
	// certificate cap was logged as reached since it was last not.
	capWarned, certCapWarned atomic.Bool
}

// signups counts the accounts without a binding each client made in its
// current window.
type signups struct {
	mu sync.Mutex
	m  map[netip.Prefix]*signupCount
}

type signupCount struct {
	start time.Time
	n     int
}

// clientPrefix is who an address stands for: itself, or its /64.
func clientPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := a.BitLen()
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// take counts one new account of client at now, or says how long until it
// may make one.
func (s *signups) take(client netip.Addr, now time.Time) (wait time.Duration, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[netip.Prefix]*signupCount{}
	}
	key := clientPrefix(client)
	c := s.m[key]
	switch {
	case c == nil:
		if len(s.m) >= maxSignupClients {
			s.prune(now)
		}
		c = &signupCount{start: now}
		s.m[key] = c
	case now.Sub(c.start) >= signupWindow:
		c.start, c.n = now, 0
	case c.n >= signupsPerClient:
		return c.start.Add(signupWindow).Sub(now), false
	}
	c.n++
	return 0, true
}

// prune drops the clients whose window has passed and, if the table is
// still full, the tenth whose windows began first. Called with mu held.
func (s *signups) prune(now time.Time) {
	for k, c := range s.m {
		if now.Sub(c.start) >= signupWindow {
			delete(s.m, k)
		}
	}
	if len(s.m) < maxSignupClients {
		return
	}
	keys := make([]netip.Prefix, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b netip.Prefix) int { return s.m[a].start.Compare(s.m[b].start) })
	for _, k := range keys[:len(keys)/10] {
		delete(s.m, k)
	}
}

// admitUnbound decides whether client may make one more account without a
// binding; the caller holds claimUnboundAccounts until it is stored.
func (s *Service) admitUnbound(ctx context.Context, client netip.Addr) error {
	n, err := s.store.CountUnboundACMEAccounts()
	if err != nil {
		return err
	}
	if max := s.acme.MaxUnboundAccounts; n >= max {
		if !s.limits.capWarned.Swap(true) {
			s.log.WarnContext(ctx, "ACME accounts without a binding reached [acme] max_unbound_accounts: new ones are refused (raise it, or hand out EAB keys with `certmaker user acme-eab`)",
				"accounts", n, "max_unbound_accounts", max)
		}
		return retryAfter(accountCapRetry, Errorf(TooMany, "this CA takes no more accounts without an External Account Binding (%d, [acme] max_unbound_accounts): ask its operator for a key, or try again later", max))
	}
	s.limits.capWarned.Store(false)
	if wait, ok := s.limits.signups.take(client, s.ca.Now()); !ok {
		return retryAfter(wait, Errorf(TooMany, "%d new accounts without a binding from this address in the last hour, as many as one may make: try again later", signupsPerClient))
	}
	return nil
}

// underOrderCap refuses an order that would make the account's live
// orders name more than MaxAccountIdentifiers identifiers, saying when
// the first of them expires (RFC 8555 6.6: Retry-After); the caller
// holds the account's claimAccountOrders until the order is stored.
func (s *Service) underOrderCap(a *storage.ACMEAccount, adding int, now time.Time) error {
	n, first, err := s.store.CountACMEIdentifiers(a.ID, now)
	if err != nil {
		return err
	}
	if limit := s.acme.MaxAccountIdentifiers; n+adding > limit {
		err := Errorf(TooMany, "the account's orders of the last %s name %d identifiers; %d more would pass [acme] max_account_identifiers (%d): wait until some expire",
			s.challengeExpiry, n, adding, limit)
		return retryAfter(max(first.Sub(now), time.Second), err)
	}
	return nil
}

// underCertificateCap refuses accounts without a binding any further
// certificate once they have MaxUnboundCertificates; a finalize holds
// claimUnboundCertificates from this check to its commit. Warned once in
// the log each time the cap is reached.
func (s *Service) underCertificateCap(ctx context.Context, a *storage.ACMEAccount) error {
	if a.EABKeyID != "" {
		return nil
	}
	n, err := s.store.CountUnboundACMECertificates()
	if err != nil {
		return s.noteReach(ctx, err)
	}
	l := s.limits
	if max := s.acme.MaxUnboundCertificates; n >= max {
		if !l.certCapWarned.Swap(true) {
			s.log.WarnContext(ctx, "ACME certificates of accounts without a binding reached [acme] max_unbound_certificates: their orders are refused (raise it, or hand out EAB keys with `certmaker user acme-eab`)",
				"certificates", n, "max_unbound_certificates", max)
		}
		return retryAfter(certificateCapRetry, Errorf(TooMany, "accounts without an External Account Binding have had all the certificates this CA gives them ([acme] max_unbound_certificates): ask its operator for a key"))
	}
	l.certCapWarned.Store(false)
	return nil
}

// retried is an error that says when to try again.
type retried struct {
	error
	after time.Duration
}

func (r *retried) Unwrap() error { return r.error }

func retryAfter(d time.Duration, err error) error { return &retried{err, d} }

// RetryAfter is how long the refusal err asks the client to wait, if it
// says.
func RetryAfter(err error) (time.Duration, bool) {
	var r *retried
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}
