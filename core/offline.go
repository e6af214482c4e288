package core

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"
	"time"

	"certmaker/ca"
	"certmaker/storage"
)

// A root that signs only intermediates and its CRL is needed a few times
// in its life; its key can leave the server: `certmaker root offline`
// writes it to a passphrase-encrypted file (the door's work) and drops it
// from the store. Operations that need it then take the key for one call.

// ExportRootKey returns the active root's fingerprint and PKCS#8 key, for
// the operator (never a web admin) to write away before TakeRootOffline.
func (s *Service) ExportRootKey(ctx context.Context, a Actor) (string, []byte, error) {
	fp, der, err := s.exportRootKey(a)
	s.audit(ctx, a, "root.export_key", fp, err)
	return fp, der, err
}

func (s *Service) exportRootKey(a Actor) (string, []byte, error) {
	if !a.operator() {
		return "", nil, Errorf(Forbidden, "only the operator may take a root's key")
	}
	root, err := s.signingRoot(nil)
	if err != nil {
		return "", nil, err
	}
	der, err := ca.MarshalKey(root.Signer)
	return root.Fingerprint, der, err
}

// TakeRootOffline drops the active root's key, which must be the one with
// that fingerprint, from the store and from memory, after signing the
// root's CRL for a year (it cannot be signed without the key). Then the
// store is rekeyed and its freed pages erased, so that the page that held
// the sealed key opens with no key file that still exists; the commit that
// drops the key marks the file for that erasing too, so a crash before the
// rekey leaves it to the next start. It returns when the root's CRL
// expires.
func (s *Service) TakeRootOffline(ctx context.Context, a Actor, fingerprint string) (time.Time, error) {
	next, err := s.takeRootOffline(a, fingerprint)
	s.audit(ctx, a, "root.offline", fingerprint, err, slog.Time("crl_next_update", next))
	return next, err
}

func (s *Service) takeRootOffline(a Actor, fingerprint string) (time.Time, error) {
	if !a.operator() {
		return time.Time{}, Errorf(Forbidden, "only the operator may take a root offline")
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	root, err := s.signingRoot(nil)
	if err != nil {
		return time.Time{}, err
	}
	if root.Fingerprint != fingerprint {
		return time.Time{}, invalidf("the active root is %s, not %.64s (rotated meanwhile?)", root.Fingerprint, fingerprint)
	}
	next, err := s.crls.SignRootCRL(root)
	if err != nil {
		return time.Time{}, fmt.Errorf("signing the root's CRL before its key goes: %w", err)
	}
	_, err = s.store.UpdateRoot(fingerprint, func(r *storage.Root) error {
		r.KeyPKCS8 = nil
		return nil
	})
	if err := s.noteWrite(context.Background(), err); err != nil {
		return time.Time{}, fmt.Errorf("dropping the root key: %w", err)
	}
	if err := s.ca.SetRootKey(fingerprint, nil); err != nil {
		return time.Time{}, err
	}
	if r, ok := s.store.(storage.Rekeyer); ok {
		if err := s.noteWrite(context.Background(), r.Rekey()); err != nil {
			return next, fmt.Errorf("the root key is dropped, but rekeying the store failed (run `certmaker rekey`): %w", err)
		}
	}
	return next, nil
}

// SignRootCRL signs a new CRL for the active root with rootKey (its
// offline key; nil: the stored one) and returns when it expires.
func (s *Service) SignRootCRL(ctx context.Context, a Actor, rootKey crypto.Signer) (time.Time, error) {
	next, err := s.signRootCRL(a, rootKey)
	target := ""
	if r := s.ca.ActiveRoot(); r != nil {
		target = r.Fingerprint
	}
	s.audit(ctx, a, "root.crl", target, err, slog.Time("crl_next_update", next))
	return next, err
}

func (s *Service) signRootCRL(a Actor, rootKey crypto.Signer) (time.Time, error) {
	if err := mayAdminister(a); err != nil {
		return time.Time{}, err
	}
	s.rotating.Lock()
	defer s.rotating.Unlock()
	root, err := s.signingRoot(rootKey)
	if err != nil {
		return time.Time{}, err
	}
	return s.crls.SignRootCRL(root)
}

// RootKeyOnline reports whether the active root's key is on the server
// (false too for a one-tier root, whose key signs every day).
func (s *Service) RootKeyOnline() bool {
	r := s.ca.ActiveRoot()
	return r != nil && r.Signer != nil
}
