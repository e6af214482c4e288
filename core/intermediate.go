package core

import (
	"context"
	"crypto"
	"fmt"

	"certmaker/ca"
)

// RotateIntermediate makes a new intermediate under the active root the
// active issuer: devices that trust the root trust what it signs with
// nothing new installed. The old intermediates stay, answering OCSP and
// their CRLs for what they signed. rootKey is the root's key when it is
// kept offline (nil: the stored one); it is used for this signature only
// and never stored. It returns the new intermediate.
func (s *Service) RotateIntermediate(ctx context.Context, a Actor, rootKey crypto.Signer) (*ca.Issuer, error) {
	in, err := s.rotateIntermediate(a, rootKey)
	target := ""
	if in != nil {
		target = in.Fingerprint
	}
	s.audit(ctx, a, "intermediate.new", target, err)
	return in, err
}

func (s *Service) rotateIntermediate(a Actor, rootKey crypto.Signer) (*ca.Issuer, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	root, err := s.signingRoot(rootKey)
	if err != nil {
		return nil, err
	}
	now := s.ca.Now()
	made, err := ca.NewIntermediate(root, s.rootCfg, s.ca.CertURL(), now)
	if err != nil {
		return nil, err
	}
	// Its parent is the root as the authority holds it, so that a key
	// given for this call is not kept with it.
	in, err := ca.LoadIssuer(made.Cert.Raw, made.Signer, s.ca.Root(root.Fingerprint))
	if err != nil {
		return nil, err
	}
	if err := s.putIssuer(in, true, now); err != nil {
		return nil, err
	}
	s.ca.Add(in, true)
	return in, nil
}

// signingRoot is the active root ready to sign: with the stored key, or
// with rootKey (checked to be the root's) when given. s.rotating is held.
func (s *Service) signingRoot(rootKey crypto.Signer) (*ca.Issuer, error) {
	root := s.ca.ActiveRoot()
	if root == nil {
		return nil, errNoActiveRoot
	}
	if root.SignsLeaves() {
		return nil, invalidf("the active root %s is a one-tier root (pathLenConstraint 0): it cannot sign an intermediate; `certmaker rotate-root` makes a two-tier hierarchy", root.Fingerprint)
	}
	if rootKey != nil {
		return root.WithKey(rootKey)
	}
	if root.Signer == nil {
		return nil, fmt.Errorf("root %s: %w: give its key file with --root-key FILE", root.Fingerprint, ca.ErrRootOffline)
	}
	return root, nil
}
