package core

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"certmaker/ca"
	"certmaker/storage"
)

// FinalizeACMEOrder issues the certificate of one of the account's ready
// orders from the client's CSR (DER), which must name exactly the order's
// identifiers, no email address, at most ca.MaxNames names, and a key other
// than the account's (RFC 8555 7.4). It returns the order once the
// certificate and the order's valid status are durable, in one commit: a
// process that dies before it leaves the order ready and no certificate,
// and the client finalizes again. One claim (acmeclaim.go) keeps two
// requests, of any node, from both signing; the commit takes the
// certificate only for an order still ready, and only while the claim is
// held. Errors: NotReady, BadCSR, Full and Unavailable (the order stays
// ready), and any other failure to sign leaves the order invalid with its
// reason.
func (s *Service) FinalizeACMEOrder(ctx context.Context, a *storage.ACMEAccount, id string, der []byte) (storage.ACMEOrder, error) {
	o, err := s.ownOrder(a, id)
	if err != nil {
		return o, err
	}
	if st := s.orderStatus(&o); st != acmeReady {
		return o, notReady(st)
	}
	csr, req, err := s.finalizeRequest(ctx, a, &o, der)
	if err != nil {
		return o, err
	}
	c, ok, err := s.claim(ctx, claimOrder+o.ID, false)
	if err != nil {
		return o, err
	}
	if !ok {
		return o, notReady(acmeProcessing)
	}
	defer c.Release()
	// Read again under the claim: a request that held it until just now
	// may have finalized the order since o was read, and must be the only
	// one that signed.
	if o, err = s.store.ACMEOrder(id); err != nil {
		return o, err
	}
	if st := s.orderStatus(&o); st != acmeReady {
		return o, notReady(st)
	}
	if err := s.authorized(ctx, &o); err != nil {
		return o, err
	}
	// Checked again here, and held until the commit on every node:
	// orders made before the cap was reached must not pass it
	// (acmelimit.go). The order stays ready.
	st := c.Fenced()
	if a.EABKeyID == "" {
		capped, err := s.claimWithin(ctx, c, claimUnboundCertificates)
		if err != nil {
			return o, err
		}
		defer capped.Release()
		if err := s.underCertificateCap(ctx, a); err != nil {
			return o, err
		}
		st = capped.Fenced()
	}
	// The request has its answer's deadline; the commit must not be cut
	// off halfway by a client that hangs up.
	ctx = context.WithoutCancel(ctx)
	cert, done, err := s.issueOrder(ctx, st, a, &o, csr, req)
	s.auditIssue(ctx, ACMEActor(a), "certificate.issue", cert, err, slog.String("order", o.ID))
	switch k := KindOf(err); {
	case err == nil:
		return s.orderView(done), nil
	case k == Full, k == Unavailable, k == NotReady:
		// Nothing stored (or, when the storage cluster stopped answering
		// mid-commit, nothing acknowledged), as after a crash: the order
		// stays as it was.
		return o, err
	case k == Invalid:
		// A CSR the authority refuses (a weak key, a subject it cannot
		// hold) is the CSR's fault.
		err = Errorf(BadCSR, "%w", err)
	}
	s.invalidate(ctx, &o, problemOf(err))
	return o, err
}

func notReady(status string) error {
	return Errorf(NotReady, "the order is %s, not ready", status)
}

// issueOrder signs and stores the certificate with the order made valid,
// in one commit through st (the finalize claim's Fenced store, or the
// certificate cap's within it) that refuses an order no longer ready.
func (s *Service) issueOrder(ctx context.Context, st storage.Store, a *storage.ACMEAccount, o *storage.ACMEOrder, csr *x509.CertificateRequest, req *ca.Request) (*storage.Certificate, storage.ACMEOrder, error) {
	start := time.Now()
	var done storage.ACMEOrder
	c, err := s.signAndCommit(ctx, func() (*storage.Certificate, error) {
		return s.sign(ctx, a.Owner, req, "", csr.PublicKey)
	}, func(c *storage.Certificate) (err error) {
		done, err = st.PutACMECertificate(o.ID, c, func(stored *storage.ACMEOrder) error {
			if st := s.orderStatus(stored); st != acmeReady {
				return notReady(st)
			}
			stored.Status, stored.Serial = acmeValid, c.Serial
			return nil
		})
		return err
	})
	switch {
	case c == nil:
		return nil, *o, err
	case errors.Is(err, storage.ErrExists):
		// Another server's request finalized it first.
		return nil, *o, notReady(acmeValid)
	case KindOf(err) == NotReady:
		return nil, *o, err
	}
	if err := s.noteWrite(ctx, err); err != nil {
		return nil, *o, fmt.Errorf("storing certificate: %w", err)
	}
	s.metrics.observeIssued(c.KeyType, start)
	return c, done, nil
}

// invalidate records why an order could not be finalized; only a ready
// order turns invalid.
func (s *Service) invalidate(ctx context.Context, o *storage.ACMEOrder, prob *storage.ACMEProblem) {
	_, err := s.store.UpdateACMEOrder(o.ID, func(o *storage.ACMEOrder) error {
		if o.Status == acmeReady {
			o.Status, o.Error = acmeInvalid, prob
		}
		return nil
	})
	if err := s.noteWrite(ctx, err); err != nil {
		s.log.ErrorContext(ctx, "ACME order not marked invalid", "order", o.ID, "err", err)
	}
}

// authorized checks again that every authorization of a ready order is
// valid: one reused from an earlier order may have been deactivated or
// have expired since this order became ready, which only its own order
// hears of. Then the order is invalid (RFC 8555 7.1.6), stored so, and
// finalize is NotReady.
func (s *Service) authorized(ctx context.Context, o *storage.ACMEOrder) error {
	azs, err := s.orderAuthzs(o)
	if err != nil {
		return err
	}
	now := *o
	s.refreshOrder(&now, azs)
	switch {
	case now.Status == acmeReady:
		return nil
	case now.Error == nil:
		return notReady(now.Status)
	}
	s.invalidate(ctx, o, now.Error)
	return Errorf(NotReady, "the order is invalid: %s; make a new order", now.Error.Detail)
}

// finalizeRequest checks the finalize CSR against the order and the
// policy of the account's user, and returns it with what to sign: only
// the order's names (an ACME order proves control of names, nothing of an
// organization or a place the CSR may claim), must-staple if the CSR asks
// for it, and the configured validity, at most the policy's.
func (s *Service) finalizeRequest(ctx context.Context, a *storage.ACMEAccount, o *storage.ACMEOrder, der []byte) (*x509.CertificateRequest, *ca.Request, error) {
	bad := func(format string, args ...any) (*x509.CertificateRequest, *ca.Request, error) {
		return nil, nil, Errorf(BadCSR, format, args...)
	}
	if len(der) == 0 {
		return bad("csr is empty")
	}
	if len(der) > ca.MaxCSRSize {
		return bad("csr larger than %d bytes", ca.MaxCSRSize)
	}
	csr, parsed, err := ca.ParseCSR(ca.CSRPEM(der))
	if err != nil {
		return bad("%w", err)
	}
	if len(parsed.Emails) > 0 {
		return bad("the CSR names email addresses, which ACME orders cannot")
	}
	// Counted before any work per name: a CSR has room for thousands.
	// Duplicates count too; no client needs to repeat a name 100 times.
	if n := len(csr.DNSNames) + len(csr.IPAddresses); n > ca.MaxNames {
		return bad("the CSR names %d names, at most %d per certificate", n, ca.MaxNames)
	}
	got, err := csrIdentifiers(csr, parsed)
	if err != nil {
		return nil, nil, err
	}
	if !sameIdentifiers(got, o.Identifiers) {
		return bad("the CSR names %s, but the order is for %s", identifierList(got), identifierList(o.Identifiers))
	}
	if tp, err := ca.Thumbprint(csr.PublicKey); err == nil && tp == a.Thumbprint {
		return bad("the CSR's key is the account key; use another key for the certificate")
	}
	req := identifiersRequest(o.Identifiers)
	req.Subject.CommonName = parsed.Subject.CommonName
	req.Days = s.acme.Days
	// Asked for in the CSR (certbot --must-staple): honoured, since
	// certmaker answers OCSP; ca.ParseCSR refused any other feature.
	req.MustStaple = parsed.MustStaple
	if err := req.Normalize(); err != nil {
		return bad("%w", err)
	}
	// The user's policy as it is now, which may have changed since the
	// order was made; and the CSR's key type. Its maximum validity
	// shortens [acme] days.
	u, err := s.accountUser(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkPolicy(&u, req, "", csr.PublicKey); err != nil {
		return bad("%w", forAccount(a, err))
	}
	return csr, req, nil
}

// csrIdentifiers are the names of a CSR as identifiers, in canonical form
// without duplicates: its SANs and its common name.
func csrIdentifiers(csr *x509.CertificateRequest, parsed *ca.Request) ([]storage.ACMEIdentifier, error) {
	var got []storage.ACMEIdentifier
	seen := make(map[storage.ACMEIdentifier]bool)
	add := func(id storage.ACMEIdentifier) error {
		n, err := acmeIdentifier(id)
		if err != nil {
			return Errorf(BadCSR, "%w", err)
		}
		if !seen[n] {
			seen[n] = true
			got = append(got, n)
		}
		return nil
	}
	for _, d := range csr.DNSNames {
		if err := add(storage.ACMEIdentifier{Type: "dns", Value: d}); err != nil {
			return nil, err
		}
	}
	for _, ip := range parsed.IPs {
		if err := add(storage.ACMEIdentifier{Type: "ip", Value: ip.String()}); err != nil {
			return nil, err
		}
	}
	if cn := csr.Subject.CommonName; cn != "" {
		typ := "dns"
		if _, err := ca.NormalizeIP(cn); err == nil {
			typ = "ip"
		}
		if err := add(storage.ACMEIdentifier{Type: typ, Value: cn}); err != nil {
			return nil, err
		}
	}
	return got, nil
}

// sameIdentifiers compares two lists without duplicates as sets.
func sameIdentifiers(a, b []storage.ACMEIdentifier) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[storage.ACMEIdentifier]bool, len(b))
	for _, id := range b {
		in[id] = true
	}
	for _, id := range a {
		if !in[id] {
			return false
		}
	}
	return true
}

// maxListed bounds the identifiers an error message spells out.
const maxListed = 10

func identifierList(ids []storage.ACMEIdentifier) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i == maxListed {
			fmt.Fprintf(&b, ", and %d more", len(ids)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id.Type + ":" + id.Value)
	}
	b.WriteByte(']')
	return b.String()
}

// ACMECertificate is the PEM chain of a certificate the account ordered:
// the leaf, then the intermediate that signed it (RFC 8555 7.4.2), never
// the root, which clients must already trust. NotFound for a certificate
// ACME did not issue, Forbidden for another account's.
func (s *Service) ACMECertificate(_ context.Context, a *storage.ACMEAccount, serial *big.Int) ([]byte, error) {
	o, err := s.store.ACMEOrderBySerial(serial)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, Errorf(NotFound, "no such certificate")
	}
	if err != nil {
		return nil, err
	}
	if o.Account != a.ID {
		return nil, Errorf(Forbidden, "the certificate was ordered by another account")
	}
	c, err := s.store.Certificate(serial)
	if err != nil {
		return nil, err
	}
	return s.ChainPEM(&c), nil
}
