package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	"certmaker/ca"
	"certmaker/storage"
)

// Revocation asks to revoke one certificate.
type Revocation struct {
	Serial *big.Int
	// Reason is an RFC 5280 CRLReason code; certmaker revokes for 0, 1,
	// 3, 4, 5 and 9.
	Reason int
	// DER, if set, is the certificate the actor showed (ACME): it must be
	// the one stored under Serial.
	DER []byte
}

// ErrReason is a revocation refused for its reason code (Invalid):
// certificateHold and removeFromCRL are not among certmaker's reasons.
var ErrReason = errors.New("not a reason certmaker revokes for")

// Revoke revokes a certificate the actor may act on (the owner rule) for
// a reason. OCSP and CRLs read revocations from the store, so every answer
// from now on says revoked.
func (s *Service) Revoke(ctx context.Context, a Actor, r Revocation) (storage.Certificate, error) {
	c, err := s.revoke(ctx, a, r)
	attrs := []slog.Attr{slog.String("reason", ca.ReasonName(r.Reason))}
	if err == nil {
		attrs = append(attrs, slog.String("owner", c.Owner))
	}
	target := ""
	if r.Serial != nil {
		target = r.Serial.String()
	}
	s.audit(ctx, a, "certificate.revoke", target, err, attrs...)
	return c, err
}

func (s *Service) revoke(ctx context.Context, a Actor, r Revocation) (storage.Certificate, error) {
	if _, err := ca.ParseReason(ca.ReasonName(r.Reason)); err != nil {
		return storage.Certificate{}, fmt.Errorf("%w: reason %d (want 0, 1, 3, 4, 5 or 9)", ErrReason, r.Reason)
	}
	c, err := s.certificate(a, r.Serial, r.DER, true)
	if err != nil {
		return storage.Certificate{}, err
	}
	c, err = s.store.Revoke(c.Serial, s.ca.Now(), r.Reason)
	if err := s.noteWrite(ctx, err); err != nil {
		return storage.Certificate{}, err
	}
	s.metrics.revoked.WithLabelValues(c.KeyType).Inc()
	return c, nil
}
