package core

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"time"

	"certmaker/ca"
	"certmaker/inventory"
	"certmaker/storage"
)

// errNoActiveRoot is a CA without an active root (never started).
var errNoActiveRoot = errors.New("no active root")

// LoadRoots puts every stored root and intermediate into the authority
// and reports whether one is active; a new store has none until serve
// makes the first.
func (s *Service) LoadRoots() (bool, error) {
	recs, active, err := s.store.Roots()
	if err != nil {
		return false, err
	}
	// Roots first, so that each intermediate finds its parent.
	slices.SortStableFunc(recs, func(x, y storage.Root) int {
		return cmp.Compare(len(x.Parent), len(y.Parent))
	})
	for _, rec := range recs {
		var key crypto.Signer
		if rec.KeyPKCS8 != nil {
			if key, err = ca.ParseKey(rec.KeyPKCS8); err != nil {
				return false, fmt.Errorf("CA %s: %w", rec.Fingerprint, err)
			}
		}
		var parent *ca.Issuer
		if rec.Parent != "" {
			if parent = s.ca.Root(rec.Parent); parent == nil {
				return false, fmt.Errorf("intermediate %s: its root %s is not stored", rec.Fingerprint, rec.Parent)
			}
		}
		iss, err := ca.LoadIssuer(rec.CertDER, key, parent)
		if err != nil {
			return false, err
		}
		if rec.Revoked {
			iss.SetRevoked(rec.RevokedAt, rec.Reason)
		}
		s.ca.Add(iss, rec.Fingerprint == active)
	}
	return active != "" && s.ca.Active() != nil, nil
}

// RotateRoot makes a new root, as configured, and an intermediate under
// it the active issuer. Old roots and intermediates stay in the store and
// in the authority: what they issued still verifies and gets OCSP answers.
// It returns the new root.
func (s *Service) RotateRoot(ctx context.Context, a Actor) (*ca.Issuer, error) {
	return s.NewRoot(ctx, a, s.rootCfg)
}

// NewRoot makes a root from cfg and an intermediate under it the active
// issuer (or, with cfg.OneTier, the root itself: tests of old databases),
// and returns the root.
func (s *Service) NewRoot(ctx context.Context, a Actor, cfg ca.RootConfig) (*ca.Issuer, error) {
	r, err := s.newRoot(ctx, a, cfg)
	target := ""
	if r != nil {
		target = r.Fingerprint
	}
	s.audit(ctx, a, "root.new", target, err)
	return r, err
}

func (s *Service) newRoot(_ context.Context, a Actor, cfg ca.RootConfig) (*ca.Issuer, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	now := s.ca.Now()
	r, err := ca.NewRoot(cfg, now)
	if err != nil {
		return nil, err
	}
	if cfg.OneTier {
		if err := s.putIssuer(r, true, now); err != nil {
			return nil, err
		}
		s.ca.Add(r, true)
		return r, nil
	}
	in, err := ca.NewIntermediate(r, cfg, s.ca.CertURL(), now)
	if err != nil {
		return nil, err
	}
	// The root first, inactive: a crash between the two writes leaves the
	// old issuer active and a spare root, never an orphan intermediate.
	if err := s.putIssuer(r, false, now); err != nil {
		return nil, err
	}
	if err := s.putIssuer(in, true, now); err != nil {
		return nil, err
	}
	s.ca.Add(r, false)
	s.ca.Add(in, true)
	return r, nil
}

// putIssuer stores a root or an intermediate with its key.
func (s *Service) putIssuer(iss *ca.Issuer, active bool, now time.Time) error {
	key, err := ca.MarshalKey(iss.Signer)
	if err != nil {
		return err
	}
	rec := storage.Root{Fingerprint: iss.Fingerprint, CertDER: iss.Cert.Raw, KeyPKCS8: key, Created: now.UTC()}
	if iss.Parent != nil {
		rec.Parent = iss.Parent.Fingerprint
	}
	if err := s.noteWrite(context.Background(), s.store.PutRoot(rec, active)); err != nil {
		return fmt.Errorf("storing CA %s: %w", iss.Fingerprint, err)
	}
	return nil
}

// ActiveRoot is the root of the active issuer: what devices trust.
func (s *Service) ActiveRoot() (*ca.Issuer, error) {
	r := s.ca.ActiveRoot()
	if r == nil {
		return nil, errNoActiveRoot
	}
	return r, nil
}

// ActiveIssuer is the intermediate (or one-tier root) that signs now.
func (s *Service) ActiveIssuer() (*ca.Issuer, error) {
	i := s.ca.Active()
	if i == nil {
		return nil, errNoActiveRoot
	}
	return i, nil
}

// ChainPEM is a certificate in PEM followed by its chain: the intermediate
// that issued it, never a root.
func (s *Service) ChainPEM(c *storage.Certificate) []byte {
	return s.ca.ChainPEM(c.DER, c.Root)
}

// IssuerDER is the DER of any root or intermediate this CA has had, by
// fingerprint, for the caIssuers URL in certificates; NotFound if unknown.
func (s *Service) IssuerDER(fingerprint string) ([]byte, error) {
	iss := s.ca.Issuer(fingerprint)
	if iss == nil {
		return nil, Errorf(NotFound, "%w: no CA certificate with fingerprint %.64q", storage.ErrNotFound, fingerprint)
	}
	return iss.Cert.Raw, nil
}

// RootsPEM reads roots from the store: the active one, or every one
// (oldest first) for trust stores that should keep accepting certificates
// of rotated-out roots. When the store does not answer promptly (a
// storage cluster without quorum), they come from memory (quickRead).
func (s *Service) RootsPEM(_ context.Context, all bool) ([]byte, error) {
	type read struct {
		recs  []storage.Root
		roots []inventory.Root
	}
	r, err := quickRead(s, func() (read, error) {
		var r read
		var err error
		if r.recs, _, err = s.store.Roots(); err != nil {
			return r, err
		}
		r.roots, err = inventory.Roots(s.store, s.ca.Now())
		return r, err
	})
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		return s.rootsPEMHeld(all, err)
	case err != nil:
		return nil, err
	}
	recs, roots := r.recs, r.roots
	byFP := make(map[string][]byte, len(recs))
	for _, r := range recs {
		byFP[r.Fingerprint] = r.CertDER
	}
	anchor := ""
	if r := s.ca.ActiveRoot(); r != nil {
		anchor = r.Fingerprint
	}
	var out []byte
	for _, r := range roots {
		if all || r.Fingerprint == anchor {
			out = append(out, ca.CertPEM(byFP[r.Fingerprint])...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("root: %w (start the server once to create one)", storage.ErrNotFound)
	}
	return out, nil
}

// rootsPEMHeld is RootsPEM from the roots the authority holds, for when
// the store does not answer: they are the store's as of the last load,
// which FollowRoots keeps current. cause is the store's silence.
func (s *Service) rootsPEMHeld(all bool, cause error) ([]byte, error) {
	var out []byte
	anchor := s.ca.ActiveRoot()
	for _, r := range s.ca.Roots() {
		if all || anchor != nil && r.Fingerprint == anchor.Fingerprint {
			out = append(out, ca.CertPEM(r.Cert.Raw)...)
		}
	}
	if len(out) == 0 {
		return nil, cause
	}
	return out, nil
}

// CRL is an issuer's current CRL in DER: for "" the active issuer's (the
// CRL of the leaves it signs), else the one with that fingerprint: an
// intermediate's or a one-tier root's (of leaves), or a two-tier root's
// (of intermediates); NotFound if none.
func (s *Service) CRL(fingerprint string) (der []byte, thisUpdate, nextUpdate time.Time, err error) {
	if fingerprint == "" {
		r, err := s.ActiveIssuer()
		if err != nil {
			return nil, thisUpdate, nextUpdate, err
		}
		fingerprint = r.Fingerprint
	}
	if s.ca.Issuer(fingerprint) == nil {
		return nil, thisUpdate, nextUpdate, Errorf(NotFound, "%w: no root with fingerprint %.64q", storage.ErrNotFound, fingerprint)
	}
	// The CRL memory holds is served when the store does not answer
	// promptly (quickRead), until its nextUpdate.
	type built struct {
		der              []byte
		this, nextUpdate time.Time
	}
	b, err := quickRead(s, func() (built, error) {
		var c built
		var err error
		c.der, c.this, c.nextUpdate, err = s.crls.CRL(fingerprint)
		return c, err
	})
	if errors.Is(err, storage.ErrUnavailable) {
		var ok bool
		if der, thisUpdate, nextUpdate, ok = s.crls.Held(fingerprint); !ok {
			return nil, thisUpdate, nextUpdate, err
		}
		return der, thisUpdate, nextUpdate, nil
	}
	der, thisUpdate, nextUpdate = b.der, b.this, b.nextUpdate
	if errors.Is(err, ca.ErrUnknownRoot) {
		err = Errorf(NotFound, "%w: no root with fingerprint %.64q", storage.ErrNotFound, fingerprint)
	}
	return der, thisUpdate, nextUpdate, err
}

// Intermediates describes every intermediate this CA has had, oldest
// first, with which one signs and which are revoked: public, as the
// certificates themselves and the root's CRL are.
func (s *Service) Intermediates(_ context.Context) ([]inventory.Root, error) {
	return inventory.Intermediates(s.store, s.ca.Now())
}
