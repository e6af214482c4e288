package acme

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/go-jose/go-jose/v4"
	"github.com/julienschmidt/httprouter"

	"certmaker/core"
	"certmaker/httplog"
	"certmaker/storage"
)

// account is the JSON form of an account (RFC 8555 7.1.2).
type account struct {
	Status  string   `json:"status"`
	Contact []string `json:"contact,omitempty"`
	Orders  string   `json:"orders"`
	// Not part of RFC 8555: which certmaker user the account acts for;
	// not said to an account without a binding (anyone may make one).
	User string `json:"certmakerUser,omitempty"`
}

func (s *Server) accountJSON(a *storage.ACMEAccount) account {
	acct := account{Status: a.Status, Contact: a.Contact, Orders: s.accountURL(a.ID) + "/orders"}
	if !core.ACMEActor(a).Unbound {
		acct.User = a.Owner
	}
	return acct
}

type newAccountRequest struct {
	Contact                []string        `json:"contact"`
	TermsOfServiceAgreed   bool            `json:"termsOfServiceAgreed"`
	OnlyReturnExisting     bool            `json:"onlyReturnExisting"`
	ExternalAccountBinding json.RawMessage `json:"externalAccountBinding"`
}

// newAccountRequest reads a newAccount request for the core.
func (s *Server) newAccountRequest(r *http.Request, q *request) (core.NewACMEAccount, error) {
	var req newAccountRequest
	if err := q.decode(&req); err != nil {
		return core.NewACMEAccount{}, err
	}
	tp, err := thumbprint(q.jwk)
	if err != nil {
		return core.NewACMEAccount{}, err
	}
	keyJSON, err := q.jwk.MarshalJSON()
	if err != nil {
		return core.NewACMEAccount{}, internal(err)
	}
	nreq := core.NewACMEAccount{Key: keyJSON, Thumbprint: tp, Contact: req.Contact, OnlyExisting: req.OnlyReturnExisting}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		nreq.Client = ap.Addr()
	}
	if len(req.ExternalAccountBinding) > 0 && string(req.ExternalAccountBinding) != "null" {
		if nreq.Binding, err = s.binding(req.ExternalAccountBinding); err != nil {
			return core.NewACMEAccount{}, err
		}
	}
	return nreq, nil
}

// refuseNewAccount refuses, before the nonce is spent, a newAccount
// request that the core would refuse whatever the store holds: a payload
// or binding that does not parse, a binding that does not verify, none
// where one is required (core.RefuseACMEAccount). Anyone can send those
// with a throwaway key; each refusal is final for the request as sent and
// tells only what the directory and the request say.
func (s *Server) refuseNewAccount(_ http.ResponseWriter, r *http.Request, _ httprouter.Params, q *request) error {
	nreq, err := s.newAccountRequest(r, q)
	if err != nil {
		return err
	}
	return s.core.RefuseACMEAccount(r.Context(), nreq)
}

// handleNewAccount creates an account for the JWS's key, or finds the one
// it already has (RFC 8555 7.3): 201 for a new one, 200 for an old one.
func (s *Server) handleNewAccount(w http.ResponseWriter, r *http.Request, _ httprouter.Params, q *request) error {
	nreq, err := s.newAccountRequest(r, q)
	if err != nil {
		return err
	}
	a, created, err := s.core.ACMEAccountFor(r.Context(), nreq)
	if err != nil {
		return err
	}
	httplog.SetUser(r, a.Owner)
	w.Header().Set("Location", s.accountURL(a.ID))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, s.accountJSON(&a))
}

// binding reads an External Account Binding (RFC 8555 7.3.4): a JWS by a
// key the operator handed out, over the account's key, for this URL. Its
// form is checked here; its MAC and what it binds by the core.
func (s *Server) binding(raw json.RawMessage) (*core.ACMEBinding, error) {
	bad := func(format string, args ...any) (*core.ACMEBinding, error) {
		return nil, unauthorized("externalAccountBinding: "+format, args...)
	}
	sig, err := parseJWS(raw, eabAlgorithms)
	if err != nil {
		var p *problem
		if errors.As(err, &p) {
			p.Detail = "externalAccountBinding: " + p.Detail
			p.Type = problemPrefix + probMalformed
		}
		return nil, err
	}
	h := sig.header
	switch {
	case h.KeyID == "":
		return bad("no kid")
	case h.Nonce != "":
		return bad("must not have a nonce")
	case headerURL(h) != s.url(pathNewAccount):
		return bad("url must be %q", s.url(pathNewAccount))
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig.signature)
	if err != nil {
		return bad("signature is not base64url")
	}
	var bound jose.JSONWebKey
	if err := bound.UnmarshalJSON(sig.UnsafePayloadWithoutVerification()); err != nil {
		return bad("payload is not a JWK: %v", err)
	}
	tp, err := thumbprint(&bound)
	if err != nil {
		return bad("payload key: %v", err)
	}
	return &core.ACMEBinding{
		KeyID: h.KeyID, Algorithm: h.Algorithm,
		SigningInput: []byte(sig.protected + "." + sig.payload), MAC: mac,
		Thumbprint: tp,
	}, nil
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
		var err error
		if a, err = s.core.UpdateACMEAccount(r.Context(), q.account, core.ACMEAccountUpdate(upd)); err != nil {
			return err
		}
	}
	w.Header().Set("Location", s.accountURL(a.ID))
	return writeJSON(w, http.StatusOK, s.accountJSON(&a))
}

// handleAccountOrders lists the account's orders (RFC 8555 7.1.2.1), a
// page at a time.
func (s *Server) handleAccountOrders(w http.ResponseWriter, r *http.Request, p httprouter.Params, q *request) error {
	if p.ByName("id") != q.account.ID {
		return unauthorized("the request is signed by another account")
	}
	if !q.postAsGet() {
		return malformed("the orders list takes POST-as-GET")
	}
	ids, next, err := s.core.ACMEOrders(r.Context(), q.account, p.ByName("cursor"))
	if err != nil {
		return err
	}
	urls := make([]string, len(ids))
	for i, id := range ids {
		urls[i] = s.orderURL(id)
	}
	if next != "" {
		// The next page (RFC 8555 7.1.2.1), its cursor in the path: the
		// JWS url names a resource without a query.
		w.Header().Add("Link", link(s.accountURL(q.account.ID)+"/orders/"+url.PathEscape(next), "next"))
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
	inner, err := parseJWS(q.payload, algorithms)
	if err != nil {
		return err
	}
	h := inner.header
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
	innerReq := request{payload: payload}
	if err := innerReq.decode(&req); err != nil {
		return err
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
	newTP, err := thumbprint(newKey)
	if err != nil {
		return err
	}
	keyJSON, err := newKey.MarshalJSON()
	if err != nil {
		return internal(err)
	}
	a, err := s.core.ChangeACMEKey(r.Context(), q.account, core.ACMEKeyChange{OldThumbprint: oldTP, Key: keyJSON, Thumbprint: newTP})
	if err != nil {
		if a.ID != "" {
			// The account that has the key already, the same user's.
			p := asProblem(err)
			p.location = s.accountURL(a.ID)
			return p
		}
		return err
	}
	w.Header().Set("Location", s.accountURL(a.ID))
	return writeJSON(w, http.StatusOK, s.accountJSON(&a))
}
