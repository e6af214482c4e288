package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

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

func (h *handler) acmeEAB(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	k, err := h.op.ACMEEAB(r.Context(), p.ByName("name"))
	reply(w, k, err)
}

// ACMEEAB implements Operator.
func (c *Client) ACMEEAB(ctx context.Context, name string) (EAB, error) {
	var out EAB
	err := c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(name)+"/acme-eab", nil, &out)
	return out, err
}
