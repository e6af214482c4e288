package acme

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/httplog"
	"certmaker/storage"
)

// Statuses of accounts, orders, authorizations and challenges.
const (
	statusValid       = "valid"
	statusPending     = "pending"
	statusReady       = "ready"
	statusProcessing  = "processing"
	statusInvalid     = "invalid"
	statusDeactivated = "deactivated"
	statusExpired     = "expired"
)

// maxContacts bounds an account's contact list.
const maxContacts = 10

// account is the JSON form of an account (RFC 8555 7.1.2).
type account struct {
	Status  string   `json:"status"`
	Contact []string `json:"contact,omitempty"`
	Orders  string   `json:"orders"`
	// Not part of RFC 8555: which certmaker user the account acts for.
	User string `json:"certmakerUser,omitempty"`
}

func (s *Server) accountJSON(a *storage.ACMEAccount) account {
	return account{Status: a.Status, Contact: a.Contact, Orders: s.accountURL(a.ID) + "/orders", User: a.Owner}
}

type newAccountRequest struct {
	Contact                []string        `json:"contact"`
	TermsOfServiceAgreed   bool            `json:"termsOfServiceAgreed"`
	OnlyReturnExisting     bool            `json:"onlyReturnExisting"`
	ExternalAccountBinding json.RawMessage `json:"externalAccountBinding"`
}

// handleNewAccount creates an account for the JWS's key, or finds the one
// it already has (RFC 8555 7.3).
func (s *Server) handleNewAccount(w http.ResponseWriter, r *http.Request, _ httprouter.Params, q *request) error {
	var req newAccountRequest
	if err := q.decode(&req); err != nil {
		return err
	}
	tp, err := thumbprint(q.jwk)
	if err != nil {
		return err
	}
	existing, err := s.store.ACMEAccountByKey(tp)
	switch {
	case err == nil:
		return s.answerExisting(w, r, &existing)
	case !errors.Is(err, storage.ErrNotFound):
		return internal(err)
	case req.OnlyReturnExisting:
		return newProblem(probAccountDoesNotExist, http.StatusBadRequest, "no account has this key")
	}
	contact, err := checkContacts(req.Contact)
	if err != nil {
		return err
	}
	owner, eabID := s.defaultUser, ""
	switch {
	case len(req.ExternalAccountBinding) > 0 && string(req.ExternalAccountBinding) != "null":
		k, err := s.verifyEAB(req.ExternalAccountBinding, q.jwk)
		if err != nil {
			return err
		}
		owner, eabID = k.Owner, k.ID
	case s.requireEAB:
		return newProblem(probExternalAccountRequired, http.StatusBadRequest,
			"this server needs an External Account Binding: ask the CA operator for a key (certmaker user acme-eab NAME)")
	}
	if _, err := s.activeUser(r, owner); err != nil {
		return err
	}
	keyJSON, err := q.jwk.MarshalJSON()
	if err != nil {
		return internal(err)
	}
	id, err := newID()
	if err != nil {
		return internal(err)
	}
	a := storage.ACMEAccount{
		ID: id, Owner: owner, Thumbprint: tp, Key: keyJSON, Contact: contact,
		Status: statusValid, EABKeyID: eabID, Created: s.ca.Now().UTC(),
	}
	got, err := s.store.CreateACMEAccount(a)
	if errors.Is(err, storage.ErrExists) && got.ID != "" {
		// The same key raced us to it: answer as for an existing account.
		return s.answerExisting(w, r, &got)
	}
	if errors.Is(err, storage.ErrNotFound) && eabID != "" {
		// The operator revoked the key since verifyEAB read it.
		return unauthorized("externalAccountBinding: key %q was revoked", eabID)
	}
	if err != nil {
		return internal(err)
	}
	httplog.SetUser(r, owner)
	s.core.Audit(r.Context(), core.Actor{Door: core.DoorACME, User: owner, Account: id}, "acme.account.create", id, nil, slog.String("eab", eabID))
	w.Header().Set("Location", s.accountURL(id))
	return writeJSON(w, http.StatusCreated, s.accountJSON(&a))
}

// answerExisting is the 200 for a key that has an account already.
func (s *Server) answerExisting(w http.ResponseWriter, r *http.Request, a *storage.ACMEAccount) error {
	if a.Status != statusValid {
		return newProblem(probUnauthorized, http.StatusUnauthorized, "the account of this key is %s", a.Status)
	}
	httplog.SetUser(r, a.Owner)
	w.Header().Set("Location", s.accountURL(a.ID))
	return writeJSON(w, http.StatusOK, s.accountJSON(a))
}

// verifyEAB checks an External Account Binding (RFC 8555 7.3.4): a JWS by
// a key the operator handed out, over the account's key, for this URL.
func (s *Server) verifyEAB(raw json.RawMessage, accountKey *jose.JSONWebKey) (storage.ACMEEAB, error) {
	bad := func(format string, args ...any) (storage.ACMEEAB, error) {
		return storage.ACMEEAB{}, unauthorized("externalAccountBinding: "+format, args...)
	}
	jws, h, err := parseJWS(raw, eabAlgorithms)
	if err != nil {
		var p *problem
		if errors.As(err, &p) {
			p.Detail = "externalAccountBinding: " + p.Detail
			p.Type = problemPrefix + probMalformed
		}
		return storage.ACMEEAB{}, err
	}
	switch {
	case h.KeyID == "":
		return bad("no kid")
	case h.Nonce != "":
		return bad("must not have a nonce")
	case headerURL(h) != s.url(pathNewAccount):
		return bad("url must be %q", s.url(pathNewAccount))
	}
	k, err := s.store.ACMEEABKey(h.KeyID)
	if errors.Is(err, storage.ErrNotFound) {
		return bad("unknown key id %.100q", h.KeyID)
	}
	if err != nil {
		return storage.ACMEEAB{}, internal(err)
	}
	payload, err := jws.Verify(k.Key)
	if err != nil {
		return bad("MAC does not verify with key %q", h.KeyID)
	}
	var bound jose.JSONWebKey
	if err := bound.UnmarshalJSON(payload); err != nil {
		return bad("payload is not a JWK: %v", err)
	}
	got, err := thumbprint(&bound)
	if err != nil {
		return bad("payload key: %v", err)
	}
	want, err := thumbprint(accountKey)
	if err != nil {
		return storage.ACMEEAB{}, err
	}
	if got != want {
		return bad("binds a different key than the one signing the request")
	}
	return k, nil
}

// checkContacts accepts mailto: addresses only (RFC 8555 7.3).
func checkContacts(in []string) ([]string, error) {
	if len(in) > maxContacts {
		return nil, newProblem(probInvalidContact, http.StatusBadRequest, "at most %d contacts", maxContacts)
	}
	var out []string
	for _, c := range in {
		addr, ok := strings.CutPrefix(c, "mailto:")
		if !ok {
			return nil, newProblem(probUnsupportedContact, http.StatusBadRequest, "contact %.100q: only mailto: is supported", c)
		}
		if strings.ContainsAny(addr, ",?") {
			return nil, newProblem(probInvalidContact, http.StatusBadRequest, "contact %.100q: one address, no headers", c)
		}
		n, err := ca.NormalizeEmail(addr)
		if err != nil {
			return nil, newProblem(probInvalidContact, http.StatusBadRequest, "contact %.100q is not an email address", c)
		}
		out = append(out, "mailto:"+n)
	}
	return out, nil
}

type accountUpdate struct {
	Status  string    `json:"status"`
	Contact *[]string `json:"contact"`
}

// handleAccount reads (POST-as-GET), updates the contacts of, or
// deactivates an account (RFC 8555 7.3.2, 7.3.6).
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	if p.ByName("id") != q.account.ID {
		return unauthorized("the request is signed by another account")
	}
	a := *q.account
	if !q.postAsGet() {
		var upd accountUpdate
		if err := q.decode(&upd); err != nil {
			return err
		}
		if upd.Status != "" && upd.Status != statusDeactivated {
			return malformed("an account's status can only be set to %q", statusDeactivated)
		}
		var contact []string
		if upd.Contact != nil {
			var err error
			if contact, err = checkContacts(*upd.Contact); err != nil {
				return err
			}
		}
		var err error
		a, err = s.store.UpdateACMEAccount(a.ID, func(a *storage.ACMEAccount) error {
			if upd.Contact != nil {
				a.Contact = contact
			}
			if upd.Status == statusDeactivated {
				a.Status = statusDeactivated
			}
			return nil
		})
		if err != nil {
			return internal(err)
		}
		if a.Status == statusDeactivated {
			s.core.Audit(r.Context(), actor(&a), "acme.account.deactivate", a.ID, nil)
		}
	}
	w.Header().Set("Location", s.accountURL(a.ID))
	return writeJSON(w, http.StatusOK, s.accountJSON(&a))
}

// handleAccountOrders lists the account's orders (RFC 8555 7.1.2.1).
func (s *Server) handleAccountOrders(w http.ResponseWriter, _ *http.Request, p httprouter.Params, q *request) error {
	if p.ByName("id") != q.account.ID {
		return unauthorized("the request is signed by another account")
	}
	if !q.postAsGet() {
		return malformed("the orders list takes POST-as-GET")
	}
	ids, err := s.store.ACMEOrders(q.account.ID)
	if err != nil {
		return internal(err)
	}
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = s.orderURL(id)
	}
	return writeJSON(w, http.StatusOK, struct {
		Orders []string `json:"orders"`
	}{urls})
}

type keyChangeRequest struct {
	Account string          `json:"account"`
	OldKey  json.RawMessage `json:"oldKey"`
}

// handleKeyChange rolls an account over to a new key (RFC 8555 7.3.5): the
// outer JWS by the old key, the inner by the new one.
func (s *Server) handleKeyChange(w http.ResponseWriter, r *http.Request, _ httprouter.Params, q *request) error {
	if q.postAsGet() {
		return malformed("keyChange needs an inner JWS as payload")
	}
	inner, h, err := parseJWS(q.payload, algorithms)
	if err != nil {
		return err
	}
	switch {
	case h.JSONWebKey == nil || h.KeyID != "":
		return malformed("the inner JWS must carry the new key as jwk, and no kid")
	case h.Nonce != "":
		return malformed("the inner JWS must not have a nonce")
	case headerURL(h) != q.url:
		return malformed("the inner JWS url must equal the outer one")
	}
	newKey := h.JSONWebKey
	if err := checkKey(newKey); err != nil {
		return err
	}
	payload, err := inner.Verify(newKey)
	if err != nil {
		return malformed("the inner JWS signature does not verify with its jwk")
	}
	var req keyChangeRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return malformed("inner payload: %v", err)
	}
	if req.Account != s.accountURL(q.account.ID) {
		return malformed("inner payload account %.200q is not the signing account", req.Account)
	}
	var old jose.JSONWebKey
	if err := old.UnmarshalJSON(req.OldKey); err != nil {
		return malformed("inner payload oldKey: %v", err)
	}
	oldTP, err := thumbprint(&old)
	if err != nil {
		return err
	}
	if oldTP != q.account.Thumbprint {
		return unauthorized("oldKey is not the account's current key")
	}
	newTP, err := thumbprint(newKey)
	if err != nil {
		return err
	}
	if newTP == oldTP {
		return malformed("the new key is the account's current key")
	}
	keyJSON, err := newKey.MarshalJSON()
	if err != nil {
		return internal(err)
	}
	a, err := s.store.UpdateACMEAccount(q.account.ID, func(a *storage.ACMEAccount) error {
		if a.Thumbprint != oldTP {
			return unauthorized("the account's key changed meanwhile")
		}
		a.Thumbprint, a.Key = newTP, keyJSON
		return nil
	})
	if errors.Is(err, storage.ErrExists) {
		p := newProblem(probMalformed, http.StatusConflict, "another account already has the new key")
		if other, err := s.store.ACMEAccountByKey(newTP); err == nil && other.Owner == q.account.Owner {
			p.location = s.accountURL(other.ID)
		}
		return p
	}
	if err != nil {
		return asProblem(err)
	}
	s.core.Audit(r.Context(), actor(&a), "acme.account.key", a.ID, nil)
	w.Header().Set("Location", s.accountURL(a.ID))
	return writeJSON(w, http.StatusOK, s.accountJSON(&a))
}

// newID is 128 random bits, base64url: unguessable resource ids.
func newID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
