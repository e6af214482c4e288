package core

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/storage"
)

// Pending is a challenge as its owner sees it: the stored record, the
// names its request must prove and, for a DNS proof, the TXT records to
// publish.
type Pending struct {
	storage.Challenge
	Names []string
	DNS   []DNSRecord
}

// OpenChallenge stores a pending simple request (validated, normalized)
// that SolveChallenge will issue once its names are proven with proof.
func (s *Service) OpenChallenge(ctx context.Context, a Actor, req *ca.Request, kt ca.KeyType, proof Proof) (storage.Challenge, error) {
	ch, err := s.putChallenge(ctx, a, req, kt, nil, proof)
	s.audit(ctx, a, "challenge.open", ch.ID, err, slog.String("proof", string(proof)))
	return ch, err
}

// OpenChallengeCSR stores a pending CSR request (ca.ParseCSR'd,
// normalized): the request made of it and its public key, not the CSR.
func (s *Service) OpenChallengeCSR(ctx context.Context, a Actor, csr *x509.CertificateRequest, req *ca.Request, proof Proof) (storage.Challenge, error) {
	ch, err := s.putChallenge(ctx, a, req, "", csr.PublicKey, proof)
	s.audit(ctx, a, "challenge.open", ch.ID, err, slog.String("proof", string(proof)))
	return ch, err
}

// putChallenge stores a pending request: pub is a CSR's key, nil for a
// simple request whose key of type kt the server will make.
func (s *Service) putChallenge(ctx context.Context, a Actor, req *ca.Request, kt ca.KeyType, pub crypto.PublicKey, proof Proof) (storage.Challenge, error) {
	if err := proof.check(); err != nil {
		return storage.Challenge{}, err
	}
	if proof == "" {
		proof = ProofHTTP
	}
	u, err := s.requester(ctx, a)
	if err != nil {
		return storage.Challenge{}, err
	}
	if err := s.checkPolicy(u, req, kt, pub); err != nil {
		return storage.Challenge{}, err
	}
	if err := provable(req, proof); err != nil {
		return storage.Challenge{}, err
	}
	// Refuse now what could never be issued, not after the proof.
	if err := s.ca.Permits(req); err != nil {
		return storage.Challenge{}, err
	}
	payload, err := json.Marshal(SimpleFrom(req, kt))
	if err != nil {
		return storage.Challenge{}, err
	}
	var spki []byte
	if pub != nil {
		if spki, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return storage.Challenge{}, err
		}
	}
	// One count and write per user at a time, on every node, so that
	// concurrent requests cannot pass the cap together; the write checks
	// that the claim still holds.
	held, _, err := s.claim(ctx, claimPending+a.User, true)
	if err != nil {
		return storage.Challenge{}, err
	}
	defer held.Release()
	if err := s.underPendingCap(a); err != nil {
		return storage.Challenge{}, err
	}
	token, err := challenge.Token()
	if err != nil {
		return storage.Challenge{}, err
	}
	idBytes := make([]byte, 16)
	if _, err := rand.Read(idBytes); err != nil {
		return storage.Challenge{}, err
	}
	now := s.ca.Now().UTC()
	ch := storage.Challenge{
		ID:        hex.EncodeToString(idBytes),
		Owner:     a.User,
		Token:     token,
		CSR:       pub != nil,
		Request:   payload,
		PublicKey: spki,
		Days:      req.Days,
		Created:   now,
		Expires:   now.Add(s.challengeExpiry),
	}
	if proof == ProofDNS {
		// HTTP stays "", so its record is what it always was.
		ch.Proof = string(ProofDNS)
	}
	if err := s.noteWrite(ctx, held.Fenced().PutChallenge(ch)); err != nil {
		return storage.Challenge{}, err
	}
	return ch, nil
}

// underPendingCap refuses a new challenge to a user who has as many
// waiting as one may: each holds a request until it expires, so without a
// cap one token could fill the disk, and a full disk refuses everyone.
// Challenges have no index by owner; they live a day, and the cap keeps
// each user's share of the scan small.
func (s *Service) underPendingCap(a Actor) error {
	pending, _, err := s.store.PendingChallenges(storage.PendingQuery{
		Owner: a.User, Now: s.ca.Now(), Limit: s.maxPending, MaxScan: math.MaxInt,
	})
	if err != nil {
		return err
	}
	if len(pending) >= s.maxPending {
		return Errorf(TooMany, "there are %d pending challenges of %s already, as many as one user may have ([challenge] max_pending): solve them, or wait until they expire", len(pending), a.User)
	}
	return nil
}

// Challenge reads one of the actor's challenges: someone else's is as
// invisible as a missing one (NotFound). A solved one comes back with its
// Serial; an unsolved one whose time has passed is Expired.
func (s *Service) Challenge(_ context.Context, a Actor, id string) (Pending, error) {
	ch, err := s.ownChallenge(a, id)
	if err != nil {
		return Pending{}, err
	}
	if ch.Serial == nil {
		if err := s.unexpired(ch); err != nil {
			return Pending{Challenge: ch}, err
		}
	}
	return pendingOf(ch)
}

// pendingOf is a stored challenge as its owner sees it.
func pendingOf(ch storage.Challenge) (Pending, error) {
	req, _, _, err := decodePending(ch)
	if err != nil {
		return Pending{}, err
	}
	p := Pending{Challenge: ch, Names: req.Names()}
	if proofOf(ch) == ProofDNS {
		p.DNS = DNSRecords(req, ch.Token)
	}
	return p, nil
}

func (s *Service) ownChallenge(a Actor, id string) (storage.Challenge, error) {
	notFound := fmt.Errorf("challenge %.40q: %w", id, storage.ErrNotFound)
	ch, err := s.store.Challenge(id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && ch.Owner != a.User) {
		return storage.Challenge{}, notFound
	}
	return ch, err
}

func (s *Service) unexpired(ch storage.Challenge) error {
	if !s.ca.Now().Before(ch.Expires) {
		return fmt.Errorf("%w at %s; request a certificate again", errExpired, ch.Expires.Format("2006-01-02 15:04:05 MST"))
	}
	return nil
}

// CheckPort refuses a port the checker may not fetch from (Invalid).
// Without a checker any port passes: solving answers NotFound anyway.
func (s *Service) CheckPort(port int) error {
	if s.checker == nil {
		return nil
	}
	return s.checker.PortAllowed(port)
}

// SolveChallenge fetches the token from every name of the actor's pending
// request on port and, if all answer it, issues. It returns the solved
// challenge (Serial set); a solved one is returned as it is, so solving
// again gives the same answer. Errors: NotFound (also for another user's
// challenge, and when this service cannot check any), Expired, a
// *challenge.Error naming the failure (ChallengeFailed).
func (s *Service) SolveChallenge(ctx context.Context, a Actor, id string, port int) (storage.Challenge, error) {
	ch, _, err := s.solveAudited(ctx, a, id, port, false)
	return ch, err
}

// CheckChallenge is SolveChallenge for a person at the dashboard: every
// name is fetched (a failure stops none of the others) and each name's
// result comes back in the request's order, passed or not. A failure is
// the first failing name's *challenge.Error (ChallengeFailed), the same on
// every run.
func (s *Service) CheckChallenge(ctx context.Context, a Actor, id string, port int) (storage.Challenge, challenge.Results, error) {
	return s.solveAudited(ctx, a, id, port, true)
}

func (s *Service) solveAudited(ctx context.Context, a Actor, id string, port int, each bool) (storage.Challenge, challenge.Results, error) {
	ch, results, issued, err := s.solve(ctx, a, id, port, each)
	target := id
	if len(target) > 40 {
		target = target[:40]
	}
	if issued {
		s.audit(ctx, a, "challenge.solve", target, err, slog.String("serial", ch.Serial.String()))
	} else if err != nil {
		s.audit(ctx, a, "challenge.solve", target, err)
	}
	return ch, results, err
}

// solve does SolveChallenge's work; issued says this call issued (not an
// earlier one), which is the state change to audit. With each, every name
// is checked and its result returned (CheckChallenge).
func (s *Service) solve(ctx context.Context, a Actor, id string, port int, each bool) (_ storage.Challenge, _ challenge.Results, issued bool, _ error) {
	if s.checker == nil {
		// Challenges are off and this service cannot check any.
		return storage.Challenge{}, nil, false, fmt.Errorf("challenge %.40q: %w", id, storage.ErrNotFound)
	}
	ch, err := s.ownChallenge(a, id)
	if err != nil || ch.Serial != nil {
		return ch, nil, false, err
	}
	// One solve of a challenge at a time, on every node: a second,
	// concurrent one waits and then finds it solved, instead of signing a
	// certificate that CompleteChallenge would throw away. The commit
	// checks that the claim still holds.
	held, _, err := s.claim(ctx, claimChallenge+id, true)
	if err != nil {
		return storage.Challenge{}, nil, false, err
	}
	defer held.Release()
	if ch, err = s.store.Challenge(id); err != nil || ch.Serial != nil {
		return ch, nil, false, err
	}
	if err := s.unexpired(ch); err != nil {
		return storage.Challenge{}, nil, false, err
	}
	req, kt, pub, err := decodePending(ch)
	if err != nil {
		return storage.Challenge{}, nil, false, err
	}
	// Checked again: a challenge stored by an older version may hold what
	// is no longer accepted, and the user's policy may have changed since
	// it was opened (or the user been disabled).
	proof := proofOf(ch)
	if err := provable(req, proof); err != nil {
		return storage.Challenge{}, nil, false, err
	}
	u, err := s.requester(ctx, a)
	if err != nil {
		return storage.Challenge{}, nil, false, err
	}
	if err := s.checkPolicy(u, req, kt, pub); err != nil {
		return storage.Challenge{}, nil, false, err
	}
	var targets []challenge.Target
	for _, name := range req.Names() {
		t := challenge.Target{Identifier: name, Port: port, Path: challenge.WellKnownPath, Want: ch.Token}
		if proof == ProofDNS {
			// The token is the TXT value (DNSRecords); the port is HTTP's.
			t = challenge.Target{Method: challenge.DNS, Identifier: name, Want: ch.Token}
		}
		targets = append(targets, t)
	}
	var results challenge.Results
	if each {
		results = s.checker.CheckEach(ctx, a.User, targets)
		if f := results.Failed(); f != nil {
			err = f
		}
	} else {
		err = s.checker.Check(ctx, a.User, targets)
	}
	if err != nil {
		s.metrics.challenges.WithLabelValues("fail").Inc()
		return storage.Challenge{}, results, false, err
	}
	s.metrics.challenges.WithLabelValues("pass").Inc()
	start := time.Now()
	c, err := s.signAndCommit(ctx, func() (*storage.Certificate, error) {
		return s.sign(ctx, a.User, req, kt, pub)
	}, func(c *storage.Certificate) error {
		got, err := held.Fenced().CompleteChallenge(ch.ID, c)
		if err == nil {
			ch = got
		}
		return err
	})
	if c == nil {
		return storage.Challenge{}, nil, false, err
	}
	if err := s.noteWrite(ctx, err); err != nil {
		return storage.Challenge{}, nil, false, fmt.Errorf("storing certificate: %w", err)
	}
	if ch.Serial.Cmp(c.Serial) != 0 {
		return ch, nil, false, nil
	}
	s.metrics.observeIssued(c.KeyType, start)
	return ch, results, true, nil
}

// decodePending turns a stored challenge back into what to sign: the
// simple request (and key type) or the CSR's request and public key.
func decodePending(ch storage.Challenge) (*ca.Request, ca.KeyType, any, error) {
	if ch.CSR && ch.PublicKey != nil {
		pub, err := x509.ParsePKIXPublicKey(ch.PublicKey)
		if err != nil {
			return nil, "", nil, fmt.Errorf("stored key of challenge %s: %w", ch.ID, err)
		}
		req, _, err := decodeSimple(ch)
		return req, "", pub, err
	}
	if ch.CSR {
		// Stored before PublicKey: the CSR as it was received.
		csr, req, err := ca.ParseCSR(ch.Request)
		if err != nil {
			return nil, "", nil, fmt.Errorf("stored CSR of challenge %s: %w", ch.ID, err)
		}
		req.Days = ch.Days
		if err := req.Normalize(); err != nil {
			return nil, "", nil, err
		}
		return req, "", csr.PublicKey, nil
	}
	req, kt, err := decodeSimple(ch)
	return req, kt, nil, err
}

// decodeSimple reads a stored challenge's request and key type.
func decodeSimple(ch storage.Challenge) (*ca.Request, ca.KeyType, error) {
	var sr SimpleRequest
	if err := json.Unmarshal(ch.Request, &sr); err != nil {
		return nil, "", fmt.Errorf("stored request of challenge %s: %w", ch.ID, err)
	}
	return sr.Request()
}

// PendingChallenges lists the actor's unsolved, unexpired challenges,
// newest first, at most limit; more says there are others (or that the
// bounded read did not reach them all).
func (s *Service) PendingChallenges(_ context.Context, a Actor, limit int) ([]Pending, bool, error) {
	chs, more, err := s.store.PendingChallenges(storage.PendingQuery{Owner: a.User, Now: s.ca.Now(), Limit: limit})
	if err != nil {
		return nil, false, err
	}
	out := make([]Pending, 0, len(chs))
	for _, ch := range chs {
		p, err := pendingOf(ch)
		if err != nil {
			return nil, false, err
		}
		out = append(out, p)
	}
	return out, more, nil
}
