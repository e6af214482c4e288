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

// answerOpened answers an opened challenge: 202 with its token and where
// to solve it.
func (s *Server) answerOpened(w http.ResponseWriter, r *http.Request, id, token string, err error) {
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("X-Challenge-Location", s.core.PublicURL()+prefixOf(r)+"/challenge/"+id+"/solve")
	writeText(w, http.StatusAccepted, token)
}

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
