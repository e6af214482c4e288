package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"certmaker/ca"
	"certmaker/inventory"
	"certmaker/storage"
)

// errNoActiveRoot is a CA without an active root (never started).
var errNoActiveRoot = errors.New("no active root")

// LoadRoots puts every stored root into the authority and reports
// whether one is active; a new store has none until serve makes the first.
func (s *Service) LoadRoots() (bool, error) {
	recs, active, err := s.store.Roots()
	if err != nil {
		return false, err
	}
	for _, rec := range recs {
		key, err := ca.ParseKey(rec.KeyPKCS8)
		if err != nil {
			return false, fmt.Errorf("root %s: %w", rec.Fingerprint, err)
		}
		r, err := ca.LoadRoot(rec.CertDER, key)
		if err != nil {
			return false, err
		}
		s.ca.AddRoot(r, rec.Fingerprint == active)
	}
	return active != "" && s.ca.Active() != nil, nil
}

// RotateRoot makes a new root, as configured, the active issuer. Old
// roots stay in the store and in the authority: what they issued still
// verifies and gets OCSP answers.
func (s *Service) RotateRoot(ctx context.Context, a Actor) (*ca.Root, error) {
	return s.NewRoot(ctx, a, s.rootCfg)
}

// NewRoot makes a root from cfg and makes it the active issuer.
func (s *Service) NewRoot(ctx context.Context, a Actor, cfg ca.RootConfig) (*ca.Root, error) {
	r, err := s.newRoot(ctx, a, cfg)
	target := ""
	if r != nil {
		target = r.Fingerprint
	}
	s.audit(ctx, a, "root.new", target, err)
	return r, err
}

func (s *Service) newRoot(ctx context.Context, a Actor, cfg ca.RootConfig) (*ca.Root, error) {
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
	key, err := ca.MarshalKey(r.Signer)
	if err != nil {
		return nil, err
	}
	rec := storage.Root{Fingerprint: r.Fingerprint, CertDER: r.Cert.Raw, KeyPKCS8: key, Created: now.UTC()}
	if err := s.noteWrite(ctx, s.store.PutRoot(rec, true)); err != nil {
		return nil, fmt.Errorf("storing root: %w", err)
	}
	s.ca.AddRoot(r, true)
	return r, nil
}

// ActiveRoot is the root that issues now.
func (s *Service) ActiveRoot() (*ca.Root, error) {
	r := s.ca.Active()
	if r == nil {
		return nil, errNoActiveRoot
	}
	return r, nil
}

// RootsPEM reads roots from the store: the active one, or every one
// (oldest first) for trust stores that should keep accepting certificates
// of rotated-out roots.
func (s *Service) RootsPEM(_ context.Context, all bool) ([]byte, error) {
	recs, active, err := s.store.Roots()
	if err != nil {
		return nil, err
	}
	roots, err := inventory.Roots(s.store, s.ca.Now())
	if err != nil {
		return nil, err
	}
	byFP := make(map[string][]byte, len(recs))
	for _, r := range recs {
		byFP[r.Fingerprint] = r.CertDER
	}
	var out []byte
	for _, r := range roots {
		if all || r.Fingerprint == active {
			out = append(out, ca.CertPEM(byFP[r.Fingerprint])...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("root: %w (start the server once to create one)", storage.ErrNotFound)
	}
	return out, nil
}

// CRL is a root's current CRL in DER: the active root's for "", else the
// one with that fingerprint (NotFound if none).
func (s *Service) CRL(fingerprint string) (der []byte, thisUpdate, nextUpdate time.Time, err error) {
	if fingerprint == "" {
		r, err := s.ActiveRoot()
		if err != nil {
			return nil, thisUpdate, nextUpdate, err
		}
		fingerprint = r.Fingerprint
	}
	der, thisUpdate, nextUpdate, err = s.crls.CRL(fingerprint)
	if errors.Is(err, ca.ErrUnknownRoot) {
		err = Errorf(NotFound, "%w: no root with fingerprint %.64q", storage.ErrNotFound, fingerprint)
	}
	return der, thisUpdate, nextUpdate, err
}
