package core

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"

	"certmaker/storage"
)

// PolicyChange changes a user's policy: Clear starts from the empty policy
// (the CA's limits only), then each field that is set replaces that part
// of the policy; a field left nil keeps it. A list replaces the whole list
// (an empty one empties it), so that the same command gives the same
// policy however often it runs.
type PolicyChange struct {
	Clear     bool      `json:"clear,omitempty"`
	Allow     *[]string `json:"allow,omitempty"`
	Deny      *[]string `json:"deny,omitempty"`
	MaxDays   *int      `json:"max_days,omitempty"`
	KeyTypes  *[]string `json:"key_types,omitempty"`
	Challenge *string   `json:"challenge,omitempty"`
}

// IsZero reports whether c changes nothing.
func (c PolicyChange) IsZero() bool {
	return !c.Clear && c.Allow == nil && c.Deny == nil && c.MaxDays == nil && c.KeyTypes == nil && c.Challenge == nil
}

// apply is p changed as c says.
func (c PolicyChange) apply(p storage.Policy) storage.Policy {
	if c.Clear {
		p = storage.Policy{}
	}
	if c.Allow != nil {
		p.Allow = slices.Clone(*c.Allow)
	}
	if c.Deny != nil {
		p.Deny = slices.Clone(*c.Deny)
	}
	if c.MaxDays != nil {
		p.MaxDays = *c.MaxDays
	}
	if c.KeyTypes != nil {
		p.KeyTypes = slices.Clone(*c.KeyTypes)
	}
	if c.Challenge != nil {
		p.Challenge = *c.Challenge
		if p.Challenge == "default" {
			p.Challenge = ChallengeDefault
		}
	}
	return p
}

// PolicyInfo is a user's policy as `user policy` and the dashboard show it.
type PolicyInfo struct {
	User   string         `json:"user"`
	Policy storage.Policy `json:"policy"`
	// ChallengeRequired is whether the user must prove control of names
	// now: the policy's setting, else the CA's.
	ChallengeRequired bool `json:"challenge_required"`
	// MaxDays is the longest validity the user can get: the policy's
	// maximum, else the CA's.
	MaxDays int `json:"max_days"`
	// SkipsRequiredChallenge says the CA requires a proof of every name
	// and this user's policy waives it: a lower bar for this user.
	SkipsRequiredChallenge bool `json:"skips_required_challenge,omitempty"`
}

func (s *Service) policyInfo(u *storage.User) PolicyInfo {
	maxDays := s.ca.Days(math.MaxInt32)
	if m := u.Policy.MaxDays; m > 0 && m < maxDays {
		maxDays = m
	}
	return PolicyInfo{
		User: u.Name, Policy: u.Policy, ChallengeRequired: s.mustProve(u), MaxDays: maxDays,
		SkipsRequiredChallenge: s.challengeRequired && u.Policy.Challenge == ChallengeOptional,
	}
}

// PreviewPolicy is what SetPolicy would make of a user's policy, checked
// the same way, without changing it: the dashboard's confirmation step.
func (s *Service) PreviewPolicy(ctx context.Context, a Actor, name string, c PolicyChange) (before, after PolicyInfo, _ error) {
	if err := mayAdminister(a); err != nil {
		return before, after, err
	}
	before, err := s.UserPolicy(ctx, a, name)
	if err != nil {
		return before, after, err
	}
	p, err := s.normalizePolicy(c.apply(before.Policy.Clone()))
	if err != nil {
		return before, after, err
	}
	u := storage.User{Name: name, Policy: p}
	return before, s.policyInfo(&u), nil
}

// UserPolicy reads a user's policy: any user for the operator and admins,
// a user their own (the dashboard's request page shows it).
func (s *Service) UserPolicy(ctx context.Context, a Actor, name string) (PolicyInfo, error) {
	if a.User != name || a.operator() {
		if err := mayAdminister(a); err != nil {
			return PolicyInfo{}, err
		}
	}
	u, err := s.store.User(name)
	if errors.Is(err, storage.ErrNotFound) {
		return PolicyInfo{}, Errorf(NotFound, "certmaker user %q does not exist", name)
	}
	if err != nil {
		return PolicyInfo{}, err
	}
	return s.policyInfo(&u), nil
}

// SetPolicy changes a user's policy as c says, in one commit; the user's
// next request, in every door, meets the new one (users are read per
// request). The audit line names each part that changed and its new
// value, and says when the user may now skip a proof the CA requires.
func (s *Service) SetPolicy(ctx context.Context, a Actor, name string, c PolicyChange) (PolicyInfo, error) {
	var before storage.Policy
	u, err := s.setPolicy(a, name, c, &before)
	err = s.noteWrite(ctx, err)
	s.audit(ctx, a, "user.policy", name, err, s.policyAttrs(before, u.Policy)...)
	if err != nil {
		return PolicyInfo{}, err
	}
	return s.policyInfo(&u), nil
}

func (s *Service) setPolicy(a Actor, name string, c PolicyChange, before *storage.Policy) (storage.User, error) {
	if err := mayAdminister(a); err != nil {
		return storage.User{}, err
	}
	return s.store.UpdateUser(name, func(u *storage.User) error {
		p, err := s.normalizePolicy(c.apply(u.Policy))
		if err != nil {
			return err
		}
		*before = u.Policy.Clone()
		u.Policy = p
		return nil
	})
}

// normalizePolicy is NormalizePolicy with the CA's validity bounds: a
// maximum below the CA's minimum could never be met.
func (s *Service) normalizePolicy(p storage.Policy) (storage.Policy, error) {
	p, err := NormalizePolicy(p)
	if err != nil {
		return p, err
	}
	if min := s.ca.Days(math.MinInt32); p.MaxDays > 0 && p.MaxDays < min {
		return p, invalidf("max days %d is below the CA's min_days (%d)", p.MaxDays, min)
	}
	return p, nil
}

// policyAttrs are the audit attributes of a policy change: which parts
// changed ("changed"), and each one's new value.
func (s *Service) policyAttrs(before, after storage.Policy) []slog.Attr {
	var changed []string
	var attrs []slog.Attr
	list := func(key string, b, a []string) {
		if !slices.Equal(b, a) {
			changed = append(changed, key)
			attrs = append(attrs, slog.String(key, strings.Join(a, " ")))
		}
	}
	list("allow", before.Allow, after.Allow)
	list("deny", before.Deny, after.Deny)
	if before.MaxDays != after.MaxDays {
		changed = append(changed, "max_days")
		attrs = append(attrs, slog.Int("max_days", after.MaxDays))
	}
	list("key_types", before.KeyTypes, after.KeyTypes)
	if before.Challenge != after.Challenge {
		changed = append(changed, "challenge")
		v := after.Challenge
		if v == ChallengeDefault {
			v = "default"
		}
		attrs = append(attrs, slog.String("challenge", v))
	}
	if s.policyInfo(&storage.User{Policy: after}).SkipsRequiredChallenge {
		// The CA requires a proof of every name; this user need not give
		// one: a lower bar, said on every change that keeps it.
		attrs = append(attrs, slog.Bool("skips_required_challenge", true))
	}
	return append([]slog.Attr{slog.String("changed", strings.Join(changed, " "))}, attrs...)
}
