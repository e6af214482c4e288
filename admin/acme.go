package admin

import (
	"context"
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
)

// EAB is an ACME External Account Binding key (RFC 8555 7.3.4).
type EAB = core.EAB

// EABInfo is one row of `user acme-eab --list`: never the HMAC key.
type EABInfo = core.EABInfo

// ACMEAccountInfo is one row of `acme accounts`.
type ACMEAccountInfo = core.ACMEAccountInfo

// ACMEAccountQuery selects the rows of `acme accounts`.
type ACMEAccountQuery = core.ACMEAccountQuery

func (h *handler) acmeEAB(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	k, err := h.op.ACMEEAB(r.Context(), p.ByName("name"))
	reply(w, k, err)
}

type revokeEABResponse struct {
	Deactivated int `json:"deactivated"`
}

func (h *handler) acmeEABs(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	keys, err := h.op.ACMEEABs(r.Context(), r.URL.Query().Get("user"))
	reply(w, keys, err)
}

func (h *handler) revokeACMEEAB(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	n, err := h.op.RevokeACMEEAB(r.Context(), p.ByName("kid"))
	reply(w, revokeEABResponse{n}, err)
}

func (h *handler) acmeAccounts(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	q := r.URL.Query()
	accounts, err := h.op.ACMEAccounts(r.Context(), ACMEAccountQuery{User: q.Get("user"), Unbound: q.Get("unbound") == "1"})
	reply(w, accounts, err)
}

func (h *handler) deactivateACMEAccount(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	a, err := h.op.DeactivateACMEAccount(r.Context(), p.ByName("id"))
	reply(w, a, err)
}

// ACMEEAB implements Operator.
func (c *Client) ACMEEAB(ctx context.Context, name string) (EAB, error) {
	var out EAB
	err := c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(name)+"/acme-eab", nil, &out)
	return out, err
}

// ACMEEABs implements Operator.
func (c *Client) ACMEEABs(ctx context.Context, user string) ([]EABInfo, error) {
	var out []EABInfo
	err := c.do(ctx, http.MethodGet, "/acme-eab?"+url.Values{"user": {user}}.Encode(), nil, &out)
	return out, err
}

// RevokeACMEEAB implements Operator.
func (c *Client) RevokeACMEEAB(ctx context.Context, kid string) (int, error) {
	var out revokeEABResponse
	err := c.do(ctx, http.MethodPost, "/acme-eab/"+url.PathEscape(kid)+"/revoke", nil, &out)
	return out.Deactivated, err
}

// ACMEAccounts implements Operator.
func (c *Client) ACMEAccounts(ctx context.Context, q ACMEAccountQuery) ([]ACMEAccountInfo, error) {
	v := url.Values{"user": {q.User}}
	if q.Unbound {
		v.Set("unbound", "1")
	}
	var out []ACMEAccountInfo
	err := c.do(ctx, http.MethodGet, "/acme-accounts?"+v.Encode(), nil, &out)
	return out, err
}

// DeactivateACMEAccount implements Operator.
func (c *Client) DeactivateACMEAccount(ctx context.Context, id string) (ACMEAccountInfo, error) {
	var out ACMEAccountInfo
	err := c.do(ctx, http.MethodPost, "/acme-accounts/"+url.PathEscape(id)+"/deactivate", nil, &out)
	return out, err
}
