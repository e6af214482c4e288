package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/store"
)

// openChallenge stores a pending request and answers 202 with its token.
// req has been validated; payload is what solving will decode again.
func (s *Server) openChallenge(w http.ResponseWriter, r *http.Request, u *store.User, req *ca.Request, payload []byte, csr bool, days int) {
	for _, d := range req.DNSNames {
		if ca.IsWildcard(d) {
			Error(w, r, badRequest("domain %q: a wildcard name cannot be proven with an HTTP challenge", d))
			return
		}
	}
	if err := s.ca.Permits(req); err != nil {
		Error(w, r, err)
		return
	}
	token, err := challenge.Token()
	if err != nil {
		Error(w, r, err)
		return
	}
	idBytes := make([]byte, 16)
	if _, err := rand.Read(idBytes); err != nil {
		Error(w, r, err)
		return
	}
	now := s.ca.Now().UTC()
	ch := store.Challenge{
		ID:      hex.EncodeToString(idBytes),
		Owner:   u.Name,
		Token:   token,
		CSR:     csr,
		Request: payload,
		Days:    days,
		Created: now,
		Expires: now.Add(s.challengeExpiry),
	}
	if err := s.store.PutChallenge(ch); err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("X-Challenge-Location", s.ca.PublicURL()+prefixOf(r)+"/challenge/"+ch.ID+"/solve")
	writeText(w, http.StatusAccepted, token)
}

// handleChallengeSolve checks every name of a pending request and issues.
func (s *Server) handleChallengeSolve(w http.ResponseWriter, r *http.Request, p httprouter.Params, u *store.User) {
	id := p.ByName("id")
	if s.checker == nil {
		// Challenges are off and this server cannot check any.
		Error(w, r, fmt.Errorf("challenge %.40q: %w", id, store.ErrNotFound))
		return
	}
	ch, err := s.store.Challenge(id)
	if err != nil || ch.Owner != u.Name {
		// Someone else's challenge is as invisible as a missing one.
		if err == nil || errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("challenge %.40q: %w", id, store.ErrNotFound)
		}
		Error(w, r, err)
		return
	}
	if ch.Serial != nil {
		s.answerSolved(w, r, ch)
		return
	}
	if !s.ca.Now().Before(ch.Expires) {
		Error(w, r, fmt.Errorf("%w at %s; request a certificate again", errExpired, ch.Expires.Format("2006-01-02 15:04:05 MST")))
		return
	}
	port, err := s.portParam(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	req, kt, pub, err := decodePending(ch)
	if err != nil {
		Error(w, r, err)
		return
	}
	var targets []challenge.Target
	for _, name := range req.Names() {
		targets = append(targets, challenge.Target{Identifier: name, Port: port, Path: challenge.WellKnownPath, Want: ch.Token})
	}
	if err := s.checker.Check(r.Context(), targets); err != nil {
		s.metrics.challenges.WithLabelValues("fail").Inc()
		Error(w, r, err)
		return
	}
	s.metrics.challenges.WithLabelValues("pass").Inc()
	start := time.Now()
	c, err := s.sign(r, u.Name, req, kt, pub)
	if err != nil {
		Error(w, r, err)
		return
	}
	ch, err = s.store.CompleteChallenge(ch.ID, c)
	if err != nil {
		Error(w, r, fmt.Errorf("storing certificate: %w", err))
		return
	}
	if ch.Serial.Cmp(c.Serial) == 0 {
		s.observeIssued(c, start)
	}
	s.answerSolved(w, r, ch)
}

// answerSolved gives the same answer for every solve of a challenge.
func (s *Server) answerSolved(w http.ResponseWriter, r *http.Request, ch store.Challenge) {
	s.setLocations(w, r, ch.Serial, !ch.CSR)
	writeText(w, http.StatusOK, ch.Serial.String()+"\n")
}

func (s *Server) portParam(r *http.Request) (int, error) {
	v := strings.TrimSpace(r.Header.Get("X-Challenge-Port"))
	if v == "" {
		return s.challengePort, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%w: X-Challenge-Port %.20q is not a number", challenge.ErrPort, v)
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
		return nil, "", nil, fmt.Errorf("stored request of challenge %s: %v", ch.ID, err)
	}
	req, kt, err := sr.toRequest()
	if err != nil {
		return nil, "", nil, err
	}
	return req, kt, nil, nil
}
