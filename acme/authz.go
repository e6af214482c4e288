package acme

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"certmaker/storage"
)

// authorization is the JSON form of an authorization (RFC 8555 7.1.4).
type authorization struct {
	Identifier identifier      `json:"identifier"`
	Status     string          `json:"status"`
	Expires    string          `json:"expires,omitempty"`
	Challenges []challengeJSON `json:"challenges"`
	Wildcard   bool            `json:"wildcard,omitempty"`
}

// challengeJSON is the JSON form of a challenge (RFC 8555 7.1.5, 8.3).
type challengeJSON struct {
	Type      string   `json:"type"`
	URL       string   `json:"url"`
	Status    string   `json:"status"`
	Token     string   `json:"token"`
	Validated string   `json:"validated,omitempty"`
	Error     *problem `json:"error,omitempty"`
}

func (s *Server) authzJSON(az *storage.ACMEAuthz) authorization {
	out := authorization{
		Identifier: identifier(az.Identifier),
		Status:     az.Status,
		Expires:    timestamp(az.Expires),
	}
	// RFC 8555 7.1.4: a wildcard's authorization names its base name.
	if base, ok := strings.CutPrefix(az.Identifier.Value, "*."); ok && az.Identifier.Type == "dns" {
		out.Identifier.Value, out.Wildcard = base, true
	}
	for i := range az.Challenges {
		out.Challenges = append(out.Challenges, s.challengeJSON(az, i))
	}
	return out
}

func (s *Server) challengeJSON(az *storage.ACMEAuthz, i int) challengeJSON {
	ch := &az.Challenges[i]
	out := challengeJSON{
		Type:   ch.Type,
		URL:    s.challengeURL(az.ID, ch.ID),
		Status: ch.Status,
		Token:  ch.Token,
		Error:  problemOf(ch.Error),
	}
	if !ch.Validated.IsZero() {
		out.Validated = timestamp(ch.Validated)
	}
	return out
}

type authzUpdate struct {
	Status string `json:"status"`
}

// handleAuthz reads (POST-as-GET) or deactivates (RFC 8555 7.5.2) an
// authorization.
func (s *Server) handleAuthz(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	var az storage.ACMEAuthz
	var err error
	if q.postAsGet() {
		az, err = s.core.ACMEAuthz(r.Context(), q.account, p.ByName("id"))
	} else {
		var upd authzUpdate
		if err := q.decode(&upd); err != nil {
			return err
		}
		az, err = s.core.DeactivateACMEAuthz(r.Context(), q.account, p.ByName("id"), upd.Status)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.authzJSON(&az))
}

// handleChallenge answers a challenge: POST-as-GET reads it, a POST of {}
// has it validated now (RFC 8555 7.5.1). The answer is the challenge after
// validation, valid or invalid with the reason in its error.
func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	azID, id := p.ByName("authz"), p.ByName("id")
	var az storage.ACMEAuthz
	var idx int
	var err error
	if q.postAsGet() {
		az, idx, err = s.core.ACMEChallenge(r.Context(), q.account, azID, id)
	} else {
		var resp struct{}
		if err := q.decode(&resp); err != nil {
			return err
		}
		az, idx, err = s.core.RespondACMEChallenge(r.Context(), q.account, azID, id)
	}
	if err != nil {
		return err
	}
	w.Header().Add("Link", link(s.authzURL(az.ID), "up"))
	return writeJSON(w, http.StatusOK, s.challengeJSON(&az, idx))
}
