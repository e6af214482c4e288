package core

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"math"

	"certmaker/ca"
	"certmaker/storage"
)

// requester is the user a request is made for, read now, whose policy
// applies: the acting user, or the user an operator issues for. nil for
// the CA's own server certificate (DoorServe), which no user owns and no
// policy bounds. NotFound or Disabled for a user who may not act.
func (s *Service) requester(ctx context.Context, a Actor) (*storage.User, error) {
	if a.Door == DoorServe {
		return nil, nil
	}
	switch {
	case a.operator() && a.For == "":
		// The operator is no user: a certificate is always some user's.
		return nil, invalidf("an operator issues a certificate for a user: name the user")
	case a.owner() == "":
		return nil, invalidf("a certificate needs an owner")
	}
	u, err := s.ActiveUser(ctx, a.owner())
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// mustProve is whether u must prove control of the names before a
// certificate is issued: the policy's own setting, else the CA's
// ([challenge] required). The CA's own certificate (nil) proves nothing:
// the name is its own.
func (s *Service) mustProve(u *storage.User) bool {
	if u == nil {
		return false
	}
	switch u.Policy.Challenge {
	case ChallengeRequired:
		return true
	case ChallengeOptional:
		return false
	}
	return s.challengeRequired
}

// checkPolicy holds a request to its user's policy, before anything is
// made for it: every name, the key type (kt, or the CSR's key pub), and
// the validity, which is clamped to the policy's maximum (req.Days
// changes), as the CA clamps it to its own. A refusal is a *PolicyError
// naming each refused name and what the policy allows. nil u (the CA's
// own certificate) has no policy.
func (s *Service) checkPolicy(u *storage.User, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey) error {
	if u == nil || u.Policy.IsZero() {
		return nil
	}
	p, err := compilePolicy(u.Policy)
	if err != nil {
		// Policies are checked when written; this one was not, and it is
		// not the request's fault.
		return fmt.Errorf("the stored policy of user %s: %v", u.Name, err)
	}
	pe := &PolicyError{User: u.Name, Policy: u.Policy}
	for _, r := range p.refuses(req) {
		pe.Refused = append(pe.Refused, r.name)
		pe.Denied = append(pe.Denied, r.denyBy)
	}
	if pub != nil {
		if kt, err = ca.KeyTypeOf(pub); err != nil {
			return err
		}
	}
	if kt != "" && !p.allowsKey(kt) {
		pe.KeyType = string(kt)
	}
	max := u.Policy.MaxDays
	if min := s.ca.Days(math.MinInt32); max > 0 && max < min {
		// Clamping up to the CA's minimum would exceed the policy; the
		// configuration changed since the policy was set.
		pe.Other = fmt.Sprintf("any validity: its maximum of %s is below the CA's min_days (%d)", plural(max, "day"), min)
	}
	if len(pe.Refused) > 0 || pe.KeyType != "" || pe.Other != "" {
		return pe
	}
	if max > 0 && s.ca.Days(req.Days) > max {
		req.Days = max
	}
	return nil
}

// forAccount is a policy refusal as an ACME account may read it: an
// account without a binding acts for the default user, and anyone may
// make one, so it learns what is refused, never whose policy refuses it
// or what that policy allows.
func forAccount(a *storage.ACMEAccount, err error) error {
	var pe *PolicyError
	if a.EABKeyID != "" || !errors.As(err, &pe) {
		return err
	}
	hidden := *pe
	hidden.Hidden = true
	return &hidden
}

// policyAllowsByRule reports whether u's policy allows the identifier id
// by one of its allow rules, and no deny rule refuses it: a policy
// without allow rules allows it only as everything the CA allows.
func policyAllowsByRule(u *storage.User, id storage.ACMEIdentifier) (bool, error) {
	p, err := compilePolicy(u.Policy)
	if err != nil || len(p.allow) == 0 {
		return false, err
	}
	return len(p.refuses(identifiersRequest([]storage.ACMEIdentifier{id}))) == 0, nil
}
