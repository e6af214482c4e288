package core

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"certmaker/ca"
	"certmaker/storage"
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

// RevokeIntermediate revokes an intermediate whose key may be compromised:
// its root's CRL lists it at once (signed now, with the root's stored key
// or rootKey, its offline key given for this call), so that relying
// parties that check the CRLs refuse every certificate under it. The
// active intermediate must be rotated first: revoking it would leave the
// CA signing with a revoked key. fingerprint is the intermediate's, or a
// unique prefix of at least 16 hex digits (what status prints), with or
// without colons; reason is an RFC 5280 code. It returns the intermediate
// revoked.
func (s *Service) RevokeIntermediate(ctx context.Context, a Actor, fingerprint string, reason int, rootKey crypto.Signer) (*ca.Issuer, error) {
	in, err := s.revokeIntermediate(a, fingerprint, reason, rootKey)
	target := fingerprint
	if in != nil {
		target = in.Fingerprint
	}
	if len(target) > 64 {
		target = target[:64]
	}
	s.audit(ctx, a, "intermediate.revoke", target, err, slog.String("reason", ca.ReasonName(reason)))
	return in, err
}

func (s *Service) revokeIntermediate(a Actor, fingerprint string, reason int, rootKey crypto.Signer) (*ca.Issuer, error) {
	if err := mayAdminister(a); err != nil {
		return nil, err
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	in, err := s.intermediate(fingerprint)
	if err != nil {
		return nil, err
	}
	if active := s.ca.Active(); active != nil && active.Fingerprint == in.Fingerprint {
		return nil, Errorf(Invalid, "%w: intermediate %s signs certificates now: rotate it first (certmaker intermediate rotate), then revoke it", ErrInvalid, in.Fingerprint)
	}
	root := in.Parent
	if rootKey != nil {
		if root, err = root.WithKey(rootKey); err != nil {
			return nil, err
		}
	} else if root.Signer == nil {
		return nil, fmt.Errorf("root %s: %w: give its key file with --root-key FILE", root.Fingerprint, ca.ErrRootOffline)
	}
	now := s.ca.Now().UTC()
	_, err = s.store.UpdateRoot(in.Fingerprint, func(r *storage.Root) error {
		if r.Revoked {
			return fmt.Errorf("intermediate %s: %w on %s", r.Fingerprint, storage.ErrRevoked, r.RevokedAt.Format(time.DateOnly))
		}
		r.Revoked, r.RevokedAt, r.Reason = true, now, reason
		return nil
	})
	if err := s.noteWrite(context.Background(), err); err != nil {
		return nil, err
	}
	in.SetRevoked(now, reason)
	if _, err := s.crls.SignRootCRL(root); err != nil {
		return in, fmt.Errorf("intermediate %s is revoked, but its root's CRL could not be signed (run `certmaker root crl`): %w", in.Fingerprint, err)
	}
	return in, nil
}

// intermediate finds an intermediate by its fingerprint or a unique prefix
// of at least 16 hex digits (findIssuer); NotFound otherwise, Invalid for a
// root.
func (s *Service) intermediate(fingerprint string) (*ca.Issuer, error) {
	found, err := s.findIssuer(fingerprint, "intermediate")
	if err != nil {
		return nil, err
	}
	if found.IsRoot() {
		return nil, Errorf(Invalid, "%w: %s is a root, not an intermediate: a root is replaced with rotate-root", ErrInvalid, found.Fingerprint)
	}
	return found, nil
}

// findIssuer finds a root or intermediate by its fingerprint or a unique
// prefix of at least 16 hex digits, in either spelling (3fa1... or
// 3F:A1:...); NotFound (naming what was looked for) otherwise.
func (s *Service) findIssuer(fingerprint, what string) (*ca.Issuer, error) {
	fp := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
	if len(fp) < 16 {
		return nil, Errorf(Invalid, "%w: fingerprint %.64q: give at least 16 hex digits (status prints them)", ErrInvalid, fingerprint)
	}
	var found *ca.Issuer
	for _, iss := range s.ca.Issuers() {
		if strings.HasPrefix(iss.Fingerprint, fp) {
			if found != nil {
				return nil, Errorf(Invalid, "%w: fingerprint %.64q names more than one CA certificate: give more of it", ErrInvalid, fingerprint)
			}
			found = iss
		}
	}
	if found == nil {
		return nil, Errorf(NotFound, "%w: no %s with fingerprint %.64q", storage.ErrNotFound, what, fingerprint)
	}
	return found, nil
}
