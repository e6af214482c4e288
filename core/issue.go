package core

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"time"

	"certmaker/ca"
	"certmaker/storage"
)

// Issue makes a key of type kt and a certificate for the normalized req,
// and stores both durably for the actor before it returns. With challenges
// required it refuses: the request must go through OpenChallenge.
func (s *Service) Issue(ctx context.Context, a Actor, req *ca.Request, kt ca.KeyType) (*storage.Certificate, error) {
	c, skipped, err := s.issue(ctx, a, req, kt, nil)
	s.auditIssue(ctx, a, "certificate.issue", c, err, skipped...)
	return c, err
}

// IssueCSR signs a checked CSR (ca.ParseCSR) for the normalized req and
// stores the certificate durably for the actor before it returns.
func (s *Service) IssueCSR(ctx context.Context, a Actor, csr *x509.CertificateRequest, req *ca.Request) (*storage.Certificate, error) {
	c, skipped, err := s.issue(ctx, a, req, "", csr.PublicKey)
	s.auditIssue(ctx, a, "certificate.issue", c, err, skipped...)
	return c, err
}

func (s *Service) auditIssue(ctx context.Context, a Actor, action string, c *storage.Certificate, err error, attrs ...slog.Attr) {
	if c == nil {
		s.audit(ctx, a, action, "", err, attrs...)
		return
	}
	s.audit(ctx, a, action, c.Serial.String(), err, append([]slog.Attr{slog.String("owner", c.Owner), slog.String("key_type", c.KeyType)}, attrs...)...)
}

// issue signs and durably stores; nothing is answered before the commit.
// pub is the CSR's key; nil means generate one of type kt. skipped holds
// the audit attribute of a certificate issued without the proof the CA
// requires, which the user's policy waives (a lower bar, said on each).
func (s *Service) issue(ctx context.Context, a Actor, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey) (_ *storage.Certificate, skipped []slog.Attr, _ error) {
	u, err := s.requester(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	if u != nil && s.policyInfo(u).SkipsRequiredChallenge {
		skipped = []slog.Attr{slog.Bool("skips_required_challenge", true)}
	}
	c, err := s.issueFor(ctx, a, u, req, kt, pub)
	return c, skipped, err
}

func (s *Service) issueFor(ctx context.Context, a Actor, u *storage.User, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey) (*storage.Certificate, error) {
	if err := s.checkPolicy(u, req, kt, pub); err != nil {
		return nil, err
	}
	// When the user must prove the names (the CA requires it, or their
	// policy does), every door's issuance goes through a proof:
	// OpenChallenge and SolveChallenge, or ACME's orders (their
	// finalize), never here, whoever asks, an operator too.
	if s.mustProve(u) {
		if a.owner() != a.User {
			return nil, invalidf("user %s must prove control of its names (challenges are required for it): an operator cannot issue for it here; the user can request it (certmaker get --serve-challenge), or `certmaker user policy %s --challenge optional` lets it skip the proof", u.Name, u.Name)
		}
		return nil, invalidf("challenges are required: open a challenge and solve it")
	}
	start := time.Now()
	c, err := s.signAndCommit(ctx, func() (*storage.Certificate, error) {
		return s.sign(ctx, a.owner(), req, kt, pub)
	}, s.store.PutCertificate)
	if err := s.noteWrite(ctx, err); err != nil {
		return nil, fmt.Errorf("storing certificate: %w", err)
	}
	s.metrics.observeIssued(c.KeyType, start)
	return c, nil
}

// sign runs the issuing pipeline up to, not including, the commit: make the
// key if the server is to hold it, sign with the active root, and build the
// record to store. pub is the CSR's key; nil means generate one of type kt.
func (s *Service) sign(ctx context.Context, owner string, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey) (*storage.Certificate, error) {
	var keyDER []byte
	if pub == nil {
		key, err := s.newKey(ctx, kt)
		if err != nil {
			return nil, fmt.Errorf("generating key: %w", err)
		}
		if keyDER, err = ca.MarshalKey(key); err != nil {
			return nil, err
		}
		pub = key.Public()
	}
	issued, err := s.ca.Sign(req, pub)
	if err != nil {
		return nil, err
	}
	kt, err = ca.KeyTypeOf(pub)
	if err != nil {
		return nil, err
	}
	return &storage.Certificate{
		Serial:   issued.Serial,
		DER:      issued.DER,
		Owner:    owner,
		Root:     issued.Issuer.Fingerprint,
		KeyPKCS8: keyDER,
		KeyType:  string(kt),
		Names:    append(req.Names(), req.Emails...),
		NotAfter: issued.NotAfter,
		// Not NotBefore: that is whole seconds, and listings order by this.
		Created: s.ca.Now().UTC(),
	}, nil
}

// newKey makes a key, holding an RSA slot when it is an RSA key so that a
// burst of RSA-4096 requests cannot take every core.
func (s *Service) newKey(ctx context.Context, kt ca.KeyType) (crypto.Signer, error) {
	if kt.IsRSA() {
		select {
		case s.rsaSlots <- struct{}{}:
			defer func() { <-s.rsaSlots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.generateKey(kt)
}

// CertificateRequest is a request for a certificate as a door decoded it:
// the normalized request, and either the key type of a key the server
// makes or the client's CSR, whose key is certified; Proof is how its
// names are proven when challenges are required ("" is HTTP).
type CertificateRequest struct {
	Request *ca.Request
	KeyType ca.KeyType
	CSR     *x509.CertificateRequest
	Proof   Proof
}

// Requested is what a request came to: a certificate issued now, or a
// challenge that issues it once the names are proven (with, for a DNS
// proof, the TXT records to publish).
type Requested struct {
	Certificate *storage.Certificate
	Challenge   *storage.Challenge
	DNS         []DNSRecord
}

// Request issues the certificate now or, when the user must prove the
// names (mustProve), opens the challenge that will: the one place that
// decides which, for every door that takes requests. The user's policy
// refuses what it does not allow before either (checkPolicy). When the
// user need not prove names, the proof asked for is not needed and the
// certificate is issued at once.
func (s *Service) Request(ctx context.Context, a Actor, r CertificateRequest) (Requested, error) {
	// The user of the request decides: their policy may require a proof
	// the CA does not, or waive one it does. A user who may not act is
	// refused (and audited) by Issue.
	if u, err := s.requester(ctx, a); err == nil && s.mustProve(u) {
		var ch storage.Challenge
		var err error
		if r.CSR != nil {
			ch, err = s.OpenChallengeCSR(ctx, a, r.CSR, r.Request, r.Proof)
		} else {
			ch, err = s.OpenChallenge(ctx, a, r.Request, r.KeyType, r.Proof)
		}
		if err != nil {
			return Requested{}, err
		}
		res := Requested{Challenge: &ch}
		if proofOf(ch) == ProofDNS {
			res.DNS = DNSRecords(r.Request, ch.Token)
		}
		return res, nil
	}
	var c *storage.Certificate
	var err error
	if r.CSR != nil {
		c, err = s.IssueCSR(ctx, a, r.CSR, r.Request)
	} else {
		c, err = s.Issue(ctx, a, r.Request, r.KeyType)
	}
	return Requested{Certificate: c}, err
}
