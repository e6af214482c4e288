package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/store"
)

// EAB is an ACME External Account Binding key (RFC 8555 7.3.4): an ACME
// client that presents it creates accounts acting for the key's user.
type EAB struct {
	KeyID   string `json:"key_id"`
	HMACKey string `json:"hmac_key"` // base64url, no padding, as ACME clients take it
}

// ACMEEAB makes a new EAB key for a user. A user may hold several; each
// stays usable, so a proxy that loses its account can register again.
func (o *Ops) ACMEEAB(_ context.Context, name string) (EAB, error) {
	if _, err := o.DB.User(name); err != nil {
		return EAB{}, err
	}
	_, id, err := newSecret(12)
	if err != nil {
		return EAB{}, fmt.Errorf("making EAB key id: %w", err)
	}
	key, keyText, err := newSecret(32) // HS256 wants at least 256 bits
	if err != nil {
		return EAB{}, fmt.Errorf("making EAB key: %w", err)
	}
	k := store.ACMEEAB{ID: id, Owner: name, Key: key, Created: o.now().UTC()}
	if err := o.DB.CreateACMEEAB(k); err != nil {
		return EAB{}, err
	}
	return EAB{KeyID: k.ID, HMACKey: keyText}, nil
}

// EABInfo is one row of `user acme-eab --list`: never the HMAC key.
type EABInfo struct {
	KeyID   string    `json:"key_id"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
	// Accounts is how many ACME accounts the key bound; 0 means unused.
	Accounts int `json:"accounts"`
}

// ACMEEABs lists the EAB keys of user, or of every user for "".
func (o *Ops) ACMEEABs(_ context.Context, user string) ([]EABInfo, error) {
	keys, err := o.DB.ACMEEABs(user)
	if err != nil {
		return nil, err
	}
	out := make([]EABInfo, len(keys))
	for i, k := range keys {
		out[i] = EABInfo{KeyID: k.ID, User: k.Owner, Created: k.Created, Accounts: k.Accounts}
	}
	return out, nil
}

// RevokeACMEEAB deletes an EAB key, so it binds no new account, and
// deactivates the accounts it bound (RFC 8555 7.3.6: for good); it returns
// how many. The server reads accounts per request, so they stop at their
// next one.
func (o *Ops) RevokeACMEEAB(_ context.Context, kid string) (int, error) {
	return o.DB.RevokeACMEEAB(kid)
}

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
