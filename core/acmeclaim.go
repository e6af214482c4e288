package core

import (
	"context"

	"certmaker/storage"
)

// Claims (storage.Coordination) keep two requests from doing one piece of
// work at once, whichever node of the store they reach: validating an
// ACME authorization, finalizing an order, solving a challenge, opening a
// user's next challenge under the cap. They replace the "processing"
// states that used to be a commit each: those states answer nothing a
// client relies on after a crash. A node that dies mid-validation or
// mid-finalize leaves the object as last stored (pending, ready), its
// claim ends with its lease (bbolt: with the process), and the client,
// which got no answer, sends its request again, as RFC 8555 7.5.1 and 7.4
// let it. While a claim is held, a second request for the same object is
// told it is processing instead of doing the work twice.
//
// A claim on a cluster can be lost by a node that stalls past its lease.
// Where the work signs a certificate (a solve, a finalize) its final write
// goes through the claim's Fenced store, which then writes nothing; the
// commit of a validation's outcome only accepts a challenge still pending,
// which fences it by itself.

// Claim names, one prefix per kind of work.
const (
	claimAuthz     = "authz/"
	claimOrder     = "order/"
	claimChallenge = "challenge/"
	claimPending   = "pending/"   // a user's next challenge, under the cap
	claimBootstrap = "bootstrap/" // what a new CA makes once
	// The ACME limits (acmelimit.go).
	claimAccountOrders       = "account-orders/" // an account's next order
	claimUnboundAccounts     = "unbound-accounts"
	claimUnboundCertificates = "unbound-certificates"
)

// claim takes name (see storage.Coordination.Claim).
func (s *Service) claim(ctx context.Context, name string, wait bool) (storage.Claim, bool, error) {
	c, ok, err := s.store.Claim(ctx, name, wait)
	return c, ok, s.noteReach(ctx, err)
}

// claimWithin takes name, waiting for it, while c is held: the new
// claim's Fenced store writes only while both hold.
func (s *Service) claimWithin(ctx context.Context, c storage.Claim, name string) (storage.Claim, error) {
	within, _, err := c.Fenced().Claim(ctx, name, true)
	return within, s.noteReach(ctx, err)
}

// claimed reports whether a request of any node works on name; a store
// that cannot say counts as no one, since it only changes what a status
// reads (processing).
func (s *Service) claimed(name string) bool {
	held, err := s.store.Claimed(name)
	return err == nil && held
}

// Once runs fn, the making of what a new CA needs once (its first root,
// its first admin), while no other node of the store runs the same: nodes
// started at the same moment make one of each. fn must check again
// whether it is still needed: another node may have made it while this
// one waited.
func (s *Service) Once(ctx context.Context, what string, fn func() error) error {
	c, _, err := s.claim(ctx, claimBootstrap+what, true)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn()
}
