package api

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/store"
)

// openChallenge stores a pending request and answers 202 with its token.
func (s *Server) openChallenge(w http.ResponseWriter, r *http.Request, u *store.User, req *ca.Request, kt ca.KeyType, csr *x509.CertificateRequest) {
	var ch store.Challenge
	var err error
	if csr != nil {
		ch, err = s.openChallengeCSR(u.Name, req, csr)
	} else {
		ch, err = s.OpenChallenge(r.Context(), u.Name, req, kt)
	}
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("X-Challenge-Location", s.ca.PublicURL()+prefixOf(r)+"/challenge/"+ch.ID+"/solve")
	writeText(w, http.StatusAccepted, ch.Token)
}

// OpenChallenge stores a pending simple request (validated, normalized)
// that SolveChallenge will issue once its names are proven.
func (s *Server) OpenChallenge(_ context.Context, owner string, req *ca.Request, kt ca.KeyType) (store.Challenge, error) {
	// Stored as validated, not as received, so that solving decodes
	// exactly what was checked now.
	payload, err := json.Marshal(simpleFrom(req, kt))
	if err != nil {
		return store.Challenge{}, err
	}
	return s.putChallenge(owner, req, payload, false, req.Days)
}

func (s *Server) openChallengeCSR(owner string, req *ca.Request, csr *x509.CertificateRequest) (store.Challenge, error) {
	return s.putChallenge(owner, req, ca.CSRPEM(csr.Raw), true, req.Days)
}

func (s *Server) putChallenge(owner string, req *ca.Request, payload []byte, csr bool, days int) (store.Challenge, error) {
	if err := provable(req); err != nil {
		return store.Challenge{}, err
	}
	// Refuse now what could never be issued, not after the proof.
	if err := s.ca.Permits(req); err != nil {
		return store.Challenge{}, err
	}
	token, err := challenge.Token()
	if err != nil {
		return store.Challenge{}, err
	}
	idBytes := make([]byte, 16)
	if _, err := rand.Read(idBytes); err != nil {
		return store.Challenge{}, err
	}
	now := s.ca.Now().UTC()
	ch := store.Challenge{
		ID:      hex.EncodeToString(idBytes),
		Owner:   owner,
		Token:   token,
		CSR:     csr,
		Request: payload,
		Days:    days,
		Created: now,
		Expires: now.Add(s.challengeExpiry),
	}
	if err := s.store.PutChallenge(ch); err != nil {
		return store.Challenge{}, err
	}
	return ch, nil
}

// provable refuses a request whose names a challenge cannot prove: a
// wildcard, or an email address whose domain is not one of the request's
// own DNS names (proven in the same challenge, or exempt like localhost).
// A check with nothing to check must never pass, so a request made only
// of email addresses is refused too.
func provable(req *ca.Request) error {
	for _, d := range req.DNSNames {
		if ca.IsWildcard(d) {
			return fmt.Errorf("%w: domain %q: a wildcard name cannot be proven with an HTTP challenge", ca.ErrInvalid, d)
		}
	}
	for _, e := range req.Emails {
		domain := e[strings.LastIndexByte(e, '@')+1:]
		if !slices.Contains(req.DNSNames, domain) {
			return fmt.Errorf("%w: email address %q: with challenges required, an email address is granted only with its domain %q among the request's domains, proven in the same challenge", ca.ErrInvalid, e, domain)
		}
	}
	if len(req.DNSNames)+len(req.IPs) == 0 {
		return fmt.Errorf("%w: with challenges required, a request needs at least one domain or IP address to prove", ca.ErrInvalid)
	}
	return nil
}

// handleChallengeSolve checks every name of a pending request and issues.
func (s *Server) handleChallengeSolve(w http.ResponseWriter, r *http.Request, p httprouter.Params, u *store.User) {
	port, err := s.portParam(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	ch, err := s.SolveChallenge(r.Context(), u.Name, p.ByName("id"), port)
	if err != nil {
		Error(w, r, err)
		return
	}
	s.answerSolved(w, r, ch)
}

// SolveChallenge fetches the token from every name of owner's pending
// request on port and, if all answer it, issues. It returns the solved
// challenge (Serial set); a solved one is returned as it is, so solving
// again gives the same answer. Errors: store.ErrNotFound (also for another
// user's challenge), errExpired, a *challenge.Error naming the failure.
func (s *Server) SolveChallenge(ctx context.Context, owner, id string, port int) (store.Challenge, error) {
	notFound := fmt.Errorf("challenge %.40q: %w", id, store.ErrNotFound)
	if s.checker == nil {
		// Challenges are off and this server cannot check any.
		return store.Challenge{}, notFound
	}
	ch, err := s.store.Challenge(id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ch.Owner != owner) {
		// Someone else's challenge is as invisible as a missing one.
		return store.Challenge{}, notFound
	}
	if err != nil {
		return store.Challenge{}, err
	}
	if ch.Serial != nil {
		return ch, nil
	}
	// One solve of a challenge at a time: a second, concurrent one waits
	// and then finds it solved, instead of signing a certificate that
	// CompleteChallenge would throw away.
	unlock := s.solving.lock(id)
	defer unlock()
	if ch, err = s.store.Challenge(id); err != nil {
		return store.Challenge{}, err
	}
	if ch.Serial != nil {
		return ch, nil
	}
	if !s.ca.Now().Before(ch.Expires) {
		return store.Challenge{}, fmt.Errorf("%w at %s; request a certificate again", errExpired, ch.Expires.Format("2006-01-02 15:04:05 MST"))
	}
	req, kt, pub, err := decodePending(ch)
	if err != nil {
		return store.Challenge{}, err
	}
	// Checked again: a challenge stored by an older version may hold what
	// is no longer accepted.
	if err := provable(req); err != nil {
		return store.Challenge{}, err
	}
	var targets []challenge.Target
	for _, name := range req.Names() {
		targets = append(targets, challenge.Target{Identifier: name, Port: port, Path: challenge.WellKnownPath, Want: ch.Token})
	}
	if err := s.checker.Check(ctx, owner, targets); err != nil {
		s.metrics.challenges.WithLabelValues("fail").Inc()
		return store.Challenge{}, err
	}
	s.metrics.challenges.WithLabelValues("pass").Inc()
	start := time.Now()
	c, err := s.sign(ctx, owner, req, kt, pub)
	if err != nil {
		return store.Challenge{}, err
	}
	ch, err = s.store.CompleteChallenge(ch.ID, c)
	if err != nil {
		return store.Challenge{}, fmt.Errorf("storing certificate: %w", err)
	}
	if ch.Serial.Cmp(c.Serial) == 0 {
		s.observeIssued(c, start)
	}
	return ch, nil
}

// ChallengeRequired reports whether requests must prove their names first.
func (s *Server) ChallengeRequired() bool { return s.challengeRequired }

// ChallengePort is the port tokens are fetched from by default.
func (s *Server) ChallengePort() int { return s.challengePort }

// answerSolved gives the same answer for every solve of a challenge.
func (s *Server) answerSolved(w http.ResponseWriter, r *http.Request, ch store.Challenge) {
	s.setLocations(w, r, ch.Serial, !ch.CSR)
	writeText(w, http.StatusOK, ch.Serial.String()+"\n")
}

// portParam is X-Challenge-Port, or the configured default; either must be
// a port the checker may use (400 otherwise, not a 417 for the names).
func (s *Server) portParam(r *http.Request) (int, error) {
	p := s.challengePort
	if v := strings.TrimSpace(r.Header.Get("X-Challenge-Port")); v != "" {
		var err error
		if p, err = strconv.Atoi(v); err != nil {
			return 0, fmt.Errorf("%w: X-Challenge-Port %.20q is not a number", challenge.ErrPort, v)
		}
	}
	if s.checker == nil {
		return p, nil // SolveChallenge answers 404: there is nothing to check with
	}
	if err := s.checker.PortAllowed(p); err != nil {
		return 0, err
	}
	return p, nil
}

// decodePending turns a stored challenge back into what to sign: the
// simple request (and key type) or the CSR's request and public key.
func decodePending(ch store.Challenge) (*ca.Request, ca.KeyType, any, error) {
	if ch.CSR {
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
	var sr simpleRequest
	if err := json.Unmarshal(ch.Request, &sr); err != nil {
		return nil, "", nil, fmt.Errorf("stored request of challenge %s: %w", ch.ID, err)
	}
	req, kt, err := sr.toRequest()
	if err != nil {
		return nil, "", nil, err
	}
	return req, kt, nil, nil
}

// keyedMutex serializes work per key (a challenge id) without one lock for
// all keys; entries go away when nobody holds or waits for them.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedEntry)
	}
	e := k.locks[key]
	if e == nil {
		e = &keyedEntry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
