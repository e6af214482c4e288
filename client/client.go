package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAnswer bounds what the client reads of any answer; a certificate
// chain or key is a few KiB.
const maxAnswer = 1 << 20

// Client calls one certmaker server with one user's token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New checks server (an http or https URL) and returns a Client. hc nil is
// a client with a one-minute timeout: an RSA-4096 key takes the server a
// few seconds.
func New(server, token string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http:// or https:// URL", server)
	}
	if token == "" {
		return nil, errors.New("no API token given")
	}
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	own := *hc
	own.CheckRedirect = sameOrigin
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, token: token, http: &own}, nil
}

// maxRedirects is what net/http follows by default.
const maxRedirects = 10

// sameOrigin follows a redirect only to the origin (scheme, host, port)
// the request started at, or from plain http up to https on the same host
// (what the CA's own plain-HTTP listener answers once it serves HTTPS):
// every request carries X-Auth-Token, which net/http strips from no
// redirect (it knows only Authorization and Cookie), and a redirect to
// another host, or from https down to plain http, would hand the token
// to whoever is there.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	from, to := via[0].URL, req.URL
	upgrade := from.Scheme == "http" && to.Scheme == "https" && strings.EqualFold(from.Hostname(), to.Hostname())
	if origin(to) != origin(from) && !upgrade {
		return fmt.Errorf("refusing to follow a redirect from %s to %s, another origin (if that is the CA, use it as the server URL)", origin(from), origin(to))
	}
	return nil
}

// origin is scheme://host:port, with the scheme's default port spelled
// out, so that http://ca and http://ca:80 are one origin.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// APIError is an answer other than the one asked for: its status and the
// server's one-line message.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("server answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Request is a simple request's JSON body (see the API's
// /certificate/request).
type Request struct {
	Domains []string `json:"domains,omitempty"`
	IPs     []string `json:"ips,omitempty"`
	Emails  []string `json:"email_addresses,omitempty"`
	Days    int      `json:"days,omitempty"`
	KeyType string   `json:"key_type,omitempty"`
}

// Issued says where the server keeps a new certificate, and its key when
// the server made it.
type Issued struct {
	CertURL string
	KeyURL  string // empty for a CSR
}

// Pending is a challenge the server asks to be solved before it issues.
type Pending struct {
	Token    string
	SolveURL string
}

// Request asks for a certificate and a key made by the server. Exactly one
// of the results is set: the certificate, or a challenge to solve.
func (c *Client) Request(ctx context.Context, r Request) (*Issued, *Pending, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	return c.issue(ctx, c.endpoint("/api/certificate/request"), "application/json", body)
}

// RequestCSR asks for a certificate for a CSR (PEM); days 0 is the
// server's default.
func (c *Client) RequestCSR(ctx context.Context, csrPEM []byte, days int) (*Issued, *Pending, error) {
	u := c.endpoint("/api/certificate/request-with-csr")
	if days > 0 {
		u += "?days=" + strconv.Itoa(days)
	}
	return c.issue(ctx, u, "application/pkcs10", csrPEM)
}

// Solve asks the server to check a challenge's token on port (0: the
// server's default port) and returns the certificate once it is issued.
func (c *Client) Solve(ctx context.Context, p *Pending, port int) (*Issued, error) {
	hdr := http.Header{}
	if port > 0 {
		hdr.Set("X-Challenge-Port", strconv.Itoa(port))
	}
	resp, body, err := c.do(ctx, http.MethodPost, p.SolveURL, "", nil, hdr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp, body)
	}
	return issued(resp)
}

// Get fetches a PEM the server keeps (a certificate, key or root) by the
// URL it handed out.
func (c *Client) Get(ctx context.Context, u string) ([]byte, error) {
	resp, body, err := c.do(ctx, http.MethodGet, u, "", nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp, body)
	}
	return body, nil
}

// GetDER fetches a certificate the server publishes without a token (a
// caIssuers URL), in DER.
func (c *Client) GetDER(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp, b)
	}
	return b, nil
}

// Root fetches the server's active root certificate (PEM).
func (c *Client) Root(ctx context.Context) ([]byte, error) {
	return c.Get(ctx, c.endpoint("/api/root-certificate/obtain"))
}

// HTTP is the client's HTTP client, for OCSP.
func (c *Client) HTTP() *http.Client { return c.http }

func (c *Client) endpoint(path string) string {
	u := *c.base
	u.Path += path
	return u.String()
}

func (c *Client) issue(ctx context.Context, u, contentType string, body []byte) (*Issued, *Pending, error) {
	resp, answer, err := c.do(ctx, http.MethodPost, u, contentType, body, nil)
	if err != nil {
		return nil, nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		is, err := issued(resp)
		return is, nil, err
	case http.StatusAccepted:
		p := &Pending{Token: strings.TrimSpace(string(answer)), SolveURL: resp.Header.Get("X-Challenge-Location")}
		if p.Token == "" || p.SolveURL == "" {
			return nil, nil, errors.New("the server asked for a challenge but sent no token or location")
		}
		return nil, p, nil
	}
	return nil, nil, apiError(resp, answer)
}

func issued(resp *http.Response) (*Issued, error) {
	is := &Issued{CertURL: resp.Header.Get("X-Certificate-Location"), KeyURL: resp.Header.Get("X-Privatekey-Location")}
	if is.CertURL == "" {
		return nil, errors.New("the server issued a certificate but sent no X-Certificate-Location")
	}
	return is, nil
}

func (c *Client) do(ctx context.Context, method, u, contentType string, body []byte, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Auth-Token", c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer of %s: %w", u, err)
	}
	return resp, b, nil
}

func apiError(resp *http.Response, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return &APIError{Status: resp.StatusCode, Message: msg}
}

// httpPost builds an OCSP POST (RFC 6960 appendix A).
func httpPost(ctx context.Context, u string, der []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(der))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	return req, nil
}
