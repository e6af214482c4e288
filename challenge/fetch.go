package challenge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Method is how a Target proves its identifier.
type Method int

// The methods. The zero value is HTTP, so a Target made before the others
// existed means what it always did.
const (
	// HTTP fetches Path on Port from the identifier's addresses and wants
	// Want as the body: certmaker's own challenge, and ACME http-01.
	HTTP Method = iota
	// DNS looks up the TXT records at "_acme-challenge." and the name
	// (a wildcard's base name for "*.name") through Config.DNSServers and
	// wants one of them to be Want: ACME dns-01 (RFC 8555 8.4).
	DNS
	// TLSALPN connects to Port, offers the ALPN protocol acme-tls/1 with
	// the name as SNI, and wants a certificate for exactly the name whose
	// acmeIdentifier extension is the SHA-256 of Want, the key
	// authorization: ACME tls-alpn-01 (RFC 8737, RFC 8738 for addresses).
	TLSALPN
)

// Target is one identifier to prove.
type Target struct {
	Method     Method
	Identifier string // DNS name or IP literal (IPv6 without brackets)
	Port       int    // HTTP and TLSALPN
	Path       string // HTTP: e.g. WellKnownPath, or "/.well-known/acme-challenge/<token>"
	// Want is what proves the identifier: the body after
	// strings.TrimSpace (HTTP), the TXT value (DNS), or the key
	// authorization whose digest the certificate carries (TLSALPN).
	Want string
}

// CheckOne proves one target for requester (see Check) and returns nil or
// a *Error. It does not consult Exempt: the caller asked for this very
// target.
func (c *Checker) CheckOne(ctx context.Context, requester string, t Target) error {
	if err := c.checkOne(ctx, requester, t); err != nil {
		return err
	}
	return nil // not a typed nil *Error
}

func (c *Checker) checkOne(ctx context.Context, requester string, t Target) *Error {
	fail := failer(t.Identifier)
	if r, err := c.unfit(t); r.text != "" {
		return fail(r, err)
	}

	// A slot first, so that waiting for one does not eat the check's own
	// timeout; the caller's context still bounds the wait. Every method
	// shares the slots: a user's DNS lookups count against the same fair
	// share as their fetches.
	release, err := c.inFlight.acquire(ctx, requester)
	if err != nil {
		return fail(c.stopped(ctx), err)
	}
	defer release()

	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return fail(c.stopped(ctx), err)
	}
	switch t.Method {
	case DNS:
		return c.checkDNS(ctx, t)
	case TLSALPN:
		return c.checkTLSALPN(ctx, t)
	}
	return c.checkHTTP(ctx, t)
}

// unfit says why a target cannot be checked at all; the zero reason if it
// can.
func (c *Checker) unfit(t Target) (reason, error) {
	if t.Method == HTTP || t.Method == TLSALPN {
		if err := c.PortAllowed(t.Port); err != nil {
			return reason{CodeTarget, err.Error()}, err
		}
	}
	switch {
	case t.Identifier == "":
		return reason{CodeTarget, "empty identifier"}, nil
	case t.Method == HTTP && !strings.HasPrefix(t.Path, "/"):
		return reason{CodeTarget, fmt.Sprintf("path %q does not start with /", t.Path)}, nil
	case t.Want == "":
		// An empty or blank file must never prove anything.
		return reason{CodeTarget, "no expected token"}, nil
	case t.Method < HTTP || t.Method > TLSALPN:
		return reason{CodeTarget, fmt.Sprintf("unknown method %d", t.Method)}, nil
	}
	if _, err := netip.ParseAddr(t.Identifier); err == nil && t.Method == DNS {
		return reason{CodeTarget, "an IP address cannot be proven with DNS"}, nil
	}
	return reason{}, nil
}

// addresses resolves an identifier to the addresses to connect to, and
// the host name to present (the normalized name, or the address), refusing
// the whole identifier if any address is off limits: which address
// answers should not decide whether a check is allowed.
func (c *Checker) addresses(ctx context.Context, id string) ([]netip.Addr, string, *reason, error) {
	var addrs []netip.Addr
	var host string
	if ip, err := netip.ParseAddr(id); err == nil {
		ip = ip.Unmap()
		addrs, host = []netip.Addr{ip}, ip.String()
	} else {
		host = normalizeName(id)
		addrs, err = c.lookup(ctx, host)
		if err != nil {
			r := c.lookupReason(ctx, err)
			return nil, "", &r, err
		}
		if len(addrs) == 0 {
			return nil, "", &reason{CodeLookup, "no address for name"}, nil
		}
	}
	for _, a := range addrs {
		if why := c.refuse(a); why != "" {
			return nil, "", &reason{CodeAddress, why}, nil
		}
	}
	return addrs, host, nil, nil
}

// checkHTTP fetches the target's path from its addresses in turn, until
// one answers.
func (c *Checker) checkHTTP(ctx context.Context, t Target) *Error {
	id := t.Identifier
	fail := failer(id)
	addrs, host, r, err := c.addresses(ctx, id)
	if r != nil {
		return fail(*r, err)
	}
	var firstErr error
	for _, a := range addrs {
		resp, err := c.get(ctx, a, t.Port, hostHeader(host, t.Port), t.Path)
		var de *dialError
		if errors.As(err, &de) && ctx.Err() == nil {
			// Nothing was sent: the next address may still answer.
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err != nil {
			return fail(c.fetchReason(ctx, err), err)
		}
		return c.judge(ctx, id, resp, t.Want)
	}
	return fail(c.fetchReason(ctx, firstErr), firstErr)
}

// get sends the request to addr but names host in the Host header, so the
// name is never resolved a second time.
func (c *Checker) get(ctx context.Context, addr netip.Addr, port int, host, path string) (*http.Response, error) {
	u := url.URL{
		Scheme: "http",
		Host:   net.JoinHostPort(addr.String(), strconv.Itoa(port)),
		Path:   path,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Host = host
	req.Header.Set("User-Agent", "certmaker-challenge")
	req.Header.Set("Accept", "text/plain")
	return c.client.Do(req)
}

// hostHeader is host with the port, except for HTTP's default port 80.
func hostHeader(host string, port int) string {
	if port != 80 {
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// judge decides on an answer. Only a 200 whose bounded body matches passes.
func (c *Checker) judge(ctx context.Context, id string, resp *http.Response, want string) *Error {
	defer resp.Body.Close()
	fail := failer(id)
	switch code := resp.StatusCode; {
	case code >= 300 && code < 400:
		return fail(reason{CodeRedirect, fmt.Sprintf("redirects are not followed (HTTP %d)", code)}, nil)
	case code == http.StatusNotFound:
		return fail(reason{CodeNotFound, "HTTP 404"}, nil)
	case code != http.StatusOK:
		return fail(reason{CodeStatus, fmt.Sprintf("HTTP %d", code)}, nil)
	}
	body, err := readBody(resp.Body, c.maxBody)
	switch {
	case errors.Is(err, errBodyTooLarge):
		return fail(reason{CodeTooLarge, fmt.Sprintf("body larger than %d bytes", c.maxBody)}, nil)
	case err != nil:
		return fail(c.fetchReason(ctx, err), err)
	case !matches(body, want):
		return fail(reason{CodeWrongToken, "wrong token"}, nil)
	}
	return nil
}
