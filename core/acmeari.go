package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"time"

	"certmaker/storage"
)

// ACME Renewal Information (RFC 9773): when a client should renew each
// certificate, and an operator's way to pull that forward for every
// certificate of a CA at once.

// CertID names a certificate as RFC 9773 4.1 does: the keyIdentifier of
// its Authority Key Identifier and its serial.
type CertID struct {
	AKI    []byte
	Serial *big.Int
}

// ParseCertID reads a certID: base64url (unpadded) of the AKI's
// keyIdentifier, ".", base64url of the serial's DER content octets.
// Invalid when it is not one.
func ParseCertID(s string) (CertID, error) {
	aki, serial, ok := strings.Cut(s, ".")
	bad := func(why string) (CertID, error) {
		return CertID{}, invalidf("certID %.100q: %s", s, why)
	}
	if !ok {
		return bad("want the authority key identifier and the serial, base64url, joined by a dot")
	}
	a, err := base64.RawURLEncoding.DecodeString(aki)
	if err != nil || len(a) == 0 {
		return bad("the authority key identifier is not base64url")
	}
	b, err := base64.RawURLEncoding.DecodeString(serial)
	switch {
	case err != nil || len(b) == 0:
		return bad("the serial is not base64url")
	case len(b) > 21:
		return bad("the serial is longer than 20 octets")
	case b[0]&0x80 != 0:
		return bad("the serial is negative")
	case len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0:
		// DER writes an INTEGER in its fewest octets: this certID names
		// no certificate's serial as its AKI names it.
		return bad("the serial has a leading zero byte DER does not write")
	case len(b) == 1 && b[0] == 0:
		return bad("the serial is zero")
	}
	return CertID{AKI: a, Serial: new(big.Int).SetBytes(b)}, nil
}

// String is the certID as RFC 9773 4.1 writes it.
func (id CertID) String() string {
	b := id.Serial.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...) // a positive INTEGER's content octets
	}
	return base64.RawURLEncoding.EncodeToString(id.AKI) + "." + base64.RawURLEncoding.EncodeToString(b)
}

// RenewalWindow is when a client should renew a certificate (RFC 9773 4.2).
type RenewalWindow struct {
	Start, End time.Time
	// RetryAfter is when to ask again.
	RetryAfter time.Duration
}

// renewalRetry is how often clients are told to ask again: a pulled
// forward window reaches them within it.
const renewalRetry = 6 * time.Hour

// RenewalInfo is the suggested window of the certificate id names: the
// first half of its last third of life (from two thirds to five sixths),
// so that a client that picks a time in it has a sixth left to retry;
// earlier if an operator pulled the windows of its CA forward (`certmaker
// cert renew-soon`); in the past, so renew now, once it is revoked. It is
// asked without an account, like the certificate's OCSP status: NotFound
// for a certificate this CA did not issue, or whose AKI is not id's.
func (s *Service) RenewalInfo(_ context.Context, id CertID) (RenewalWindow, error) {
	notFound := Errorf(NotFound, "no certificate %s", id)
	c, err := s.store.Certificate(id.Serial)
	if errors.Is(err, storage.ErrNotFound) {
		return RenewalWindow{}, notFound
	}
	if err != nil {
		return RenewalWindow{}, err
	}
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return RenewalWindow{}, fmt.Errorf("stored certificate %s: %w", c.Serial, err)
	}
	if !bytes.Equal(cert.AuthorityKeyId, id.AKI) {
		return RenewalWindow{}, notFound
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	w := RenewalWindow{Start: cert.NotBefore.Add(life * 2 / 3), End: cert.NotBefore.Add(life * 5 / 6), RetryAfter: renewalRetry}
	if c.Revoked {
		// A revoked certificate is replaced at once: the window has passed.
		return RenewalWindow{Start: c.RevokedAt.Add(-time.Hour), End: c.RevokedAt, RetryAfter: renewalRetry}, nil
	}
	pulled, err := s.pulledWindow(&c)
	if err != nil {
		return RenewalWindow{}, err
	}
	if pulled != nil && pulled.Start.Before(w.Start) {
		w.Start, w.End = pulled.Start, pulled.End
	}
	return w, nil
}

// pulledWindow is the window an operator set on the CA that issued c, or
// on its root, if c was issued before it was set; nil if none.
func (s *Service) pulledWindow(c *storage.Certificate) (*RenewalWindow, error) {
	roots, _, err := s.store.Roots()
	if err != nil {
		return nil, err
	}
	var found *RenewalWindow
	for fp := c.Root; fp != ""; {
		i := slices.IndexFunc(roots, func(r storage.Root) bool { return r.Fingerprint == fp })
		if i < 0 {
			break
		}
		r := roots[i]
		if !r.RenewStart.IsZero() && c.Created.Before(r.RenewStart) && (found == nil || r.RenewStart.Before(found.Start)) {
			found = &RenewalWindow{Start: r.RenewStart, End: r.RenewEnd}
		}
		fp = r.Parent
	}
	return found, nil
}

// MaxRenewWithin bounds how far ahead an operator may spread a pulled
// forward window.
const MaxRenewWithin = 30 * 24 * time.Hour

// RenewSoon pulls the renewal window of every certificate the CA named by
// fingerprint (a root or an intermediate, or a unique prefix of at least
// 16 hex digits) and every CA under it issued until now forward to
// [now, now+within], durably: ACME clients that ask for renewal
// information (RFC 9773) renew within it. Certificates issued afterwards,
// their replacements, keep the usual window. It returns the CA's
// fingerprint and the window.
func (s *Service) RenewSoon(ctx context.Context, a Actor, fingerprint string, within time.Duration) (string, RenewalWindow, error) {
	fp, w, err := s.renewSoon(a, fingerprint, within)
	target := fp
	if target == "" {
		target = fingerprint
	}
	if len(target) > 64 {
		target = target[:64]
	}
	s.audit(ctx, a, "certificate.renew_soon", target, err, slog.Duration("within", within))
	return fp, w, err
}

func (s *Service) renewSoon(a Actor, fingerprint string, within time.Duration) (string, RenewalWindow, error) {
	if err := mayAdminister(a); err != nil {
		return "", RenewalWindow{}, err
	}
	if within < time.Minute || within > MaxRenewWithin {
		return "", RenewalWindow{}, invalidf("within %s: want a minute to %d days", within, MaxRenewWithin/(24*time.Hour))
	}
	found, err := s.findIssuer(fingerprint, "root or intermediate")
	if err != nil {
		return "", RenewalWindow{}, err
	}
	iss := found.Fingerprint
	now := s.ca.Now().UTC()
	w := RenewalWindow{Start: now, End: now.Add(within), RetryAfter: renewalRetry}
	_, err = s.store.UpdateRoot(iss, func(r *storage.Root) error {
		r.RenewStart, r.RenewEnd = w.Start, w.End
		return nil
	})
	if err := s.noteWrite(context.Background(), err); err != nil {
		return iss, RenewalWindow{}, err
	}
	return iss, w, nil
}

// replaceable checks a newOrder's "replaces" (RFC 9773 5) and returns
// the order that got the certificate: it must name a certificate this
// account ordered, for at least one of the new order's identifiers, that
// no other order renews unless that one is invalid (AlreadyReplaced).
func (s *Service) replaceable(a *storage.ACMEAccount, id CertID, ids []storage.ACMEIdentifier) (storage.ACMEOrder, error) {
	o, err := s.store.ACMEOrderBySerial(id.Serial)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && o.Account != a.ID) {
		return o, invalidf("replaces %s: this account ordered no such certificate", id)
	}
	if err != nil {
		return o, err
	}
	c, err := s.store.Certificate(id.Serial)
	if err != nil {
		return o, err
	}
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return o, fmt.Errorf("stored certificate %s: %w", c.Serial, err)
	}
	if !bytes.Equal(cert.AuthorityKeyId, id.AKI) {
		return o, invalidf("replaces %s: this account ordered no such certificate", id)
	}
	if !slices.ContainsFunc(ids, func(n storage.ACMEIdentifier) bool { return slices.Contains(o.Identifiers, n) }) {
		return o, invalidf("replaces %s: the order names none of that certificate's identifiers", id)
	}
	return o, s.notReplaced(id.String(), o.ReplacedBy)
}

// notReplaced is AlreadyReplaced while the order by, which renews the
// certificate named cert, is not invalid (nor gone).
func (s *Service) notReplaced(cert, by string) error {
	if by == "" {
		return nil
	}
	other, err := s.store.ACMEOrder(by)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return err
	case s.orderView(other).Status == acmeInvalid:
		return nil
	}
	return Errorf(AlreadyReplaced, "replaces %s: order %s renews it already", cert, by)
}

// markReplaced records on the order that got the replaced certificate
// that order by renews it, in one transaction with the check that no
// other order has since (the one read by replaceable stays the only one
// that passed it).
func (s *Service) markReplaced(ctx context.Context, replaced *storage.ACMEOrder, by string) error {
	_, err := s.store.UpdateACMEOrder(replaced.ID, func(o *storage.ACMEOrder) error {
		if o.ReplacedBy != replaced.ReplacedBy {
			return Errorf(AlreadyReplaced, "order %s renews the certificate of order %s already", o.ReplacedBy, o.ID)
		}
		o.ReplacedBy = by
		return nil
	})
	if KindOf(err) == AlreadyReplaced {
		return err
	}
	return s.noteWrite(ctx, err)
}
