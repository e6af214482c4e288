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
