package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"certmaker/challenge"
	"certmaker/core"
)

// handleChallengeSolve checks every name of a pending request and issues;
// every solve of a challenge gets the same answer.
func (s *Server) handleChallengeSolve(w http.ResponseWriter, r *http.Request, p httprouter.Params, a core.Actor) {
	port, err := s.portParam(r)
	if err != nil {
		Error(w, r, err)
		return
	}
	ch, err := s.core.SolveChallenge(r.Context(), a, p.ByName("id"), port)
	if err != nil {
		Error(w, r, err)
		return
	}
	s.setLocations(w, r, ch.Serial, !ch.CSR)
	writeText(w, http.StatusOK, ch.Serial.String()+"\n")
}

// portParam is X-Challenge-Port, or the configured default; either must be
// a port the checker may use (400 otherwise, not a 417 for the names).
func (s *Server) portParam(r *http.Request) (int, error) {
	p := s.core.ChallengePort()
	if v := strings.TrimSpace(r.Header.Get("X-Challenge-Port")); v != "" {
		var err error
		if p, err = strconv.Atoi(v); err != nil {
			return 0, fmt.Errorf("%w: X-Challenge-Port %.20q is not a number", challenge.ErrPort, v)
		}
	}
	if err := s.core.CheckPort(p); err != nil {
		return 0, err
	}
	return p, nil
}
