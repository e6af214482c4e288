package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
)

// PolicyChange changes a user's policy (core.PolicyChange).
type PolicyChange = core.PolicyChange

// PolicyInfo is a user's policy as `user policy` shows it.
type PolicyInfo = core.PolicyInfo

// IssueRequest is `certmaker cert issue`: a certificate for User, held to
// that user's policy, with a key the server makes (KeyType) or for the
// key of CSR (PEM), whose names are then the CSR's.
type IssueRequest struct {
	User    string   `json:"user"`
	Domains []string `json:"domains,omitempty"`
	IPs     []string `json:"ips,omitempty"`
	Emails  []string `json:"emails,omitempty"`
	Days    int      `json:"days,omitempty"`
	KeyType string   `json:"key_type,omitempty"`
	CSR     []byte   `json:"csr,omitempty"`
}

// Issued is a certificate cert issue made: its id, the certificate
// followed by its intermediate, and the key when the server made it.
type Issued struct {
	ID      string `json:"id"`
	CertPEM []byte `json:"cert_pem"`
	KeyPEM  []byte `json:"key_pem,omitempty"`
}

// AddUserWithPolicy creates a user whose policy is the default for new
// users changed as pc says.
func (l *Local) AddUserWithPolicy(ctx context.Context, name string, admin bool, pc PolicyChange) (string, error) {
	return l.Core.AddUserWithPolicy(ctx, l.actor(ctx), name, admin, pc)
}

// UserPolicy reads a user's policy.
func (l *Local) UserPolicy(ctx context.Context, name string) (PolicyInfo, error) {
	return l.Core.UserPolicy(ctx, l.actor(ctx), name)
}

// SetPolicy changes a user's policy.
func (l *Local) SetPolicy(ctx context.Context, name string, pc PolicyChange) (PolicyInfo, error) {
	return l.Core.SetPolicy(ctx, l.actor(ctx), name, pc)
}

// IssueCertificate issues for a user as the operator: the certificate is
// the user's, and the user's policy decides what it may hold.
func (l *Local) IssueCertificate(ctx context.Context, r IssueRequest) (Issued, error) {
	a := l.actor(ctx)
	if r.User == "" {
		return Issued{}, fmt.Errorf("%w: name the user the certificate is for", ErrInvalid)
	}
	a.For = r.User
	if r.CSR != nil {
		if len(r.Domains)+len(r.IPs)+len(r.Emails) > 0 || r.KeyType != "" {
			return Issued{}, fmt.Errorf("%w: with a CSR the names and the key are the CSR's", ErrInvalid)
		}
		csr, req, err := core.CSRRequest(r.CSR, r.Days)
		if err != nil {
			return Issued{}, err
		}
		c, err := l.Core.IssueCSR(ctx, a, csr, req)
		if err != nil {
			return Issued{}, err
		}
		return Issued{ID: c.Serial.String(), CertPEM: l.Core.ChainPEM(c)}, nil
	}
	sr := core.SimpleRequest{Domains: r.Domains, IPs: r.IPs, EmailAddresses: r.Emails, Days: r.Days, KeyType: r.KeyType}
	req, kt, err := sr.Request()
	if err != nil {
		return Issued{}, err
	}
	c, err := l.Core.Issue(ctx, a, req, kt)
	if err != nil {
		return Issued{}, err
	}
	return Issued{ID: c.Serial.String(), CertPEM: l.Core.ChainPEM(c), KeyPEM: ca.KeyPEM(c.KeyPKCS8)}, nil
}

// maxPolicyBody bounds a request that carries a policy: 100 rules of
// each kind fit.
const maxPolicyBody = 64 << 10

func (h *handler) userPolicy(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	info, err := h.op.UserPolicy(r.Context(), p.ByName("name"))
	reply(w, info, err)
}

func (h *handler) setPolicy(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	var pc PolicyChange
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPolicyBody)).Decode(&pc); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	info, err := h.op.SetPolicy(r.Context(), p.ByName("name"), pc)
	reply(w, info, err)
}

func (h *handler) issue(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req IssueRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPolicyBody+ca.MaxCSRSize)).Decode(&req); err != nil {
		replyError(w, fmt.Errorf("%w: %v", ErrInvalid, err))
		return
	}
	out, err := h.op.IssueCertificate(r.Context(), req)
	reply(w, out, err)
}

// AddUserWithPolicy implements Operator.
func (c *Client) AddUserWithPolicy(ctx context.Context, name string, admin bool, pc PolicyChange) (string, error) {
	var out tokenResponse
	err := c.do(ctx, http.MethodPost, "/users", addUserRequest{Name: name, Admin: admin, Policy: &pc}, &out)
	return out.Token, err
}

// UserPolicy implements Operator.
func (c *Client) UserPolicy(ctx context.Context, name string) (PolicyInfo, error) {
	var out PolicyInfo
	err := c.do(ctx, http.MethodGet, "/users/"+url.PathEscape(name)+"/policy", nil, &out)
	return out, err
}

// SetPolicy implements Operator.
func (c *Client) SetPolicy(ctx context.Context, name string, pc PolicyChange) (PolicyInfo, error) {
	var out PolicyInfo
	err := c.do(ctx, http.MethodPost, "/users/"+url.PathEscape(name)+"/policy", pc, &out)
	return out, err
}

// IssueCertificate implements Operator.
func (c *Client) IssueCertificate(ctx context.Context, r IssueRequest) (Issued, error) {
	var out Issued
	err := c.do(ctx, http.MethodPost, "/certificates", r, &out)
	return out, err
}
