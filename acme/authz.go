package acme

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/challenge"
	"certmaker/core"
	"certmaker/storage"
)

// http01 is the one challenge type certmaker offers (RFC 8555 8.3).
const http01 = "http-01"

// authorization is the JSON form of an authorization (RFC 8555 7.1.4).
type authorization struct {
	Identifier identifier      `json:"identifier"`
	Status     string          `json:"status"`
	Expires    string          `json:"expires,omitempty"`
	Challenges []challengeJSON `json:"challenges"`
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

// newAuthz makes a pending authorization with an http-01 challenge. The
// names certmaker never validates (localhost, 127.0.0.1 and ::1; see
// challenge.Exempt) are valid from the start, as in the simple API.
func (s *Server) newAuthz(account, orderID string, id identifier, expires time.Time) (storage.ACMEAuthz, error) {
	azID, err := newID()
	if err != nil {
		return storage.ACMEAuthz{}, err
	}
	chID, err := newID()
	if err != nil {
		return storage.ACMEAuthz{}, err
	}
	token, err := challenge.Token()
	if err != nil {
		return storage.ACMEAuthz{}, err
	}
	az := storage.ACMEAuthz{
		ID: azID, Account: account, Order: orderID, Identifier: storage.ACMEIdentifier(id),
		Status: statusPending, Expires: expires,
		Challenges: []storage.ACMEChallenge{{ID: chID, Type: http01, Token: token, Status: statusPending}},
	}
	if challenge.Exempt(id.Value) {
		az.Status = statusValid
		az.Challenges[0].Status = statusValid
		az.Challenges[0].Validated = s.ca.Now().UTC()
	}
	return az, nil
}

// authzStatus is the stored status, or expired once its time has passed.
func (s *Server) authzStatus(az *storage.ACMEAuthz) string {
	switch az.Status {
	case statusPending, statusValid:
		if s.ca.Now().After(az.Expires) {
			return statusExpired
		}
	}
	return az.Status
}

func (s *Server) authzJSON(az *storage.ACMEAuthz) authorization {
	out := authorization{
		Identifier: identifier(az.Identifier),
		Status:     s.authzStatus(az),
		Expires:    timestamp(az.Expires),
	}
	for i := range az.Challenges {
		out.Challenges = append(out.Challenges, s.challengeJSON(az, &az.Challenges[i]))
	}
	return out
}

func (s *Server) challengeJSON(az *storage.ACMEAuthz, ch *storage.ACMEChallenge) challengeJSON {
	out := challengeJSON{
		Type:   ch.Type,
		URL:    s.challengeURL(az.ID, ch.ID),
		Status: ch.Status,
		Token:  ch.Token,
		Error:  problemOf(ch.Error),
	}
	if ch.Status == statusPending && s.validating.holds(az.ID) {
		out.Status = statusProcessing
	}
	if !ch.Validated.IsZero() {
		out.Validated = timestamp(ch.Validated)
	}
	return out
}

// ownAuthz loads an authorization of q's account.
func (s *Server) ownAuthz(id string, q *request) (storage.ACMEAuthz, error) {
	az, err := s.store.ACMEAuthz(id)
	if errors.Is(err, storage.ErrNotFound) {
		return az, notFound("authorization")
	}
	if err != nil {
		return az, internal(err)
	}
	if az.Account != q.account.ID {
		return az, unauthorized("the authorization belongs to another account")
	}
	return az, nil
}

type authzUpdate struct {
	Status string `json:"status"`
}

// handleAuthz reads (POST-as-GET) or deactivates (RFC 8555 7.5.2) an
// authorization.
func (s *Server) handleAuthz(w http.ResponseWriter, _ *http.Request, p httprouter.Params, q *request) error {
	az, err := s.ownAuthz(p.ByName("id"), q)
	if err != nil {
		return err
	}
	if !q.postAsGet() {
		var upd authzUpdate
		if err := q.decode(&upd); err != nil {
			return err
		}
		if upd.Status != statusDeactivated {
			return malformed("an authorization's status can only be set to %q", statusDeactivated)
		}
		// The authorization and the order it makes invalid, one commit.
		az, _, err = s.store.UpdateACMEAuthz(az.ID, func(az *storage.ACMEAuthz) error {
			if az.Status != statusPending && az.Status != statusValid {
				return malformed("the authorization is %s and cannot be deactivated", az.Status)
			}
			az.Status = statusDeactivated
			return nil
		}, s.refreshOrder)
		if err != nil {
			return asProblem(err)
		}
	}
	return writeJSON(w, http.StatusOK, s.authzJSON(&az))
}

// errNotPending stops the claim of a challenge that is not pending.
var errNotPending = errors.New("challenge is not pending")

// handleChallenge answers a challenge: POST-as-GET reads it, a POST of {}
// has it validated now (RFC 8555 7.5.1). The answer is the challenge after
// validation, valid or invalid with the reason in its error.
func (s *Server) handleChallenge(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	az, err := s.ownAuthz(p.ByName("authz"), q)
	if err != nil {
		return err
	}
	idx := -1
	for i, ch := range az.Challenges {
		if ch.ID == p.ByName("id") {
			idx = i
		}
	}
	if idx < 0 {
		return notFound("challenge")
	}
	w.Header().Add("Link", link(s.authzURL(az.ID), "up"))
	if q.postAsGet() {
		return writeJSON(w, http.StatusOK, s.challengeJSON(&az, &az.Challenges[idx]))
	}
	var resp struct{}
	if err := q.decode(&resp); err != nil {
		return err
	}
	if st := s.authzStatus(&az); st == statusExpired {
		return malformed("the authorization has expired")
	}
	// Claimed in memory, not in the store (claim.go): a crash during the
	// fetch leaves the challenge pending, and the client posts it again.
	if az.Status != statusPending || az.Challenges[idx].Status != statusPending || !s.validating.claim(az.ID) {
		// Already answered, or being validated: say how it stands.
		return writeJSON(w, http.StatusOK, s.challengeJSON(&az, &az.Challenges[idx]))
	}
	defer s.validating.release(az.ID)
	// Read again under the claim: a request that held it until just now
	// may have recorded an outcome since az was read.
	if az, err = s.store.ACMEAuthz(az.ID); err != nil {
		return internal(err)
	}
	if az.Status != statusPending || az.Challenges[idx].Status != statusPending {
		return writeJSON(w, http.StatusOK, s.challengeJSON(&az, &az.Challenges[idx]))
	}
	az, err = s.validate(r.Context(), &az, idx, q.account.Owner, q.account.Thumbprint)
	if err != nil {
		return internal(err)
	}
	return writeJSON(w, http.StatusOK, s.challengeJSON(&az, &az.Challenges[idx]))
}

// validate fetches the key authorization from the identifier with the
// checker, and records the outcome on the challenge and its authorization
// and moves the order on, in one commit: the answer says valid (or
// invalid) only once that is on disk. owner is the account's user: all of
// a user's accounts are one requester for the checker's per-user bound on
// fetches.
func (s *Server) validate(ctx context.Context, az *storage.ACMEAuthz, idx int, owner, thumbprint string) (storage.ACMEAuthz, error) {
	ch := az.Challenges[idx]
	target := challenge.Target{
		Identifier: az.Identifier.Value,
		Port:       s.http01Port,
		Path:       "/.well-known/acme-challenge/" + ch.Token,
		Want:       keyAuthorization(ch.Token, thumbprint),
	}
	// A client hanging up must not leave the challenge half-recorded; the
	// checker bounds the fetch itself.
	checkErr := s.core.CheckName(context.WithoutCancel(ctx), core.Actor{Door: core.DoorACME, User: owner, Account: az.Account}, target)
	now := s.ca.Now().UTC()
	updated, _, err := s.store.UpdateACMEAuthz(az.ID, func(a *storage.ACMEAuthz) error {
		c := &a.Challenges[idx]
		if a.Status != statusPending || c.Status != statusPending {
			// Another server (or a deactivation) got there first.
			return errNotPending
		}
		if checkErr != nil {
			c.Status, a.Status = statusInvalid, statusInvalid
			c.Error = validationProblem(az.Identifier.Value, s.http01Port, checkErr).record()
			return nil
		}
		c.Status, a.Status, c.Validated = statusValid, statusValid, now
		return nil
	}, s.refreshOrder)
	if errors.Is(err, errNotPending) {
		return s.store.ACMEAuthz(az.ID)
	}
	if err != nil {
		return updated, err
	}
	s.core.Audit(ctx, core.Actor{Door: core.DoorACME, User: owner, Account: az.Account}, "acme.challenge.validate", az.ID, checkErr,
		slog.String("identifier", az.Identifier.Value))
	return updated, nil
}

// validationProblem turns a checker failure into the problem the challenge
// carries: dns for a name that does not resolve, connection for one that
// does not answer, unauthorized for a wrong answer.
func validationProblem(id string, port int, err error) *problem {
	typ := probUnauthorized
	var chErr *challenge.Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		typ = probDNS
	case errors.As(err, &chErr) && chErr.Err != nil:
		typ = probConnection
	case errors.As(err, &chErr) && chErr.Reason == "wrong token":
		typ = probIncorrectResponse
	}
	reason := err.Error()
	if chErr != nil {
		reason = chErr.Reason
	}
	return newProblem(typ, http.StatusForbidden, "http-01 for %s on port %d: %s", id, port, reason)
}

// refreshOrder moves a pending order to ready once every authorization
// is valid, or to invalid once one is not going to be. It runs in the
// commit that changes one of the authorizations (authzs are all of the
// order's, as that commit leaves them).
func (s *Server) refreshOrder(o *storage.ACMEOrder, authzs []storage.ACMEAuthz) error {
	if o.Status != statusPending && o.Status != statusReady {
		return nil
	}
	status := statusReady
	var prob *storage.ACMEProblem
	for i := range authzs {
		az := &authzs[i]
		switch st := s.authzStatus(az); st {
		case statusValid:
		case statusPending:
			if status == statusReady {
				status = statusPending
			}
		default:
			status = statusInvalid
			prob = &storage.ACMEProblem{
				Type:   problemPrefix + probUnauthorized,
				Detail: fmt.Sprintf("authorization for %s is %s", az.Identifier.Value, st),
				Status: http.StatusForbidden,
			}
			if c := az.Challenges; len(c) > 0 && c[0].Error != nil {
				prob = c[0].Error
			}
		}
		if status == statusInvalid {
			break
		}
	}
	o.Status, o.Error = status, prob
	return nil
}
