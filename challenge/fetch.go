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

// Target is one identifier to prove.
type Target struct {
	Identifier string // DNS name or IP literal (IPv6 without brackets)
	Port       int
	Path       string // e.g. WellKnownPath, or "/.well-known/acme-challenge/<token>"
	Want       string // expected body after strings.TrimSpace
}

// CheckOne fetches one target for requester (see Check) and returns nil or
// a *Error. It does not consult Exempt: the caller asked for this very
// target.
func (c *Checker) CheckOne(ctx context.Context, requester string, t Target) error {
	if err := c.checkOne(ctx, requester, t); err != nil {
		return err
	}
	return nil // not a typed nil *Error
}

func (c *Checker) checkOne(ctx context.Context, requester string, t Target) *Error {
	id := t.Identifier
	fail := func(r reason, err error) *Error {
		return &Error{Identifier: id, Code: r.code, Reason: r.text, Err: err}
	}
	switch err := c.PortAllowed(t.Port); {
	case err != nil:
		return fail(reason{CodeTarget, err.Error()}, err)
	case id == "":
		return fail(reason{CodeTarget, "empty identifier"}, nil)
	case !strings.HasPrefix(t.Path, "/"):
		return fail(reason{CodeTarget, fmt.Sprintf("path %q does not start with /", t.Path)}, nil)
	case t.Want == "":
		// An empty or blank file must never prove anything.
		return fail(reason{CodeTarget, "no expected token"}, nil)
	}

	// A slot first, so that waiting for one does not eat the fetch's own
	// timeout; the caller's context still bounds the wait.
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

	var addrs []netip.Addr
	var host string
	if ip, err := netip.ParseAddr(id); err == nil {
		ip = ip.Unmap()
		addrs, host = []netip.Addr{ip}, ip.String()
	} else {
		host = normalizeName(id)
		addrs, err = c.lookup(ctx, host)
		if err != nil {
			return fail(c.lookupReason(ctx, err), err)
		}
		if len(addrs) == 0 {
			return fail(reason{CodeLookup, "no address for name"}, nil)
		}
	}
	// Refuse the whole identifier if any address is off limits: which
	// address answers should not decide whether a check is allowed.
	for _, a := range addrs {
		if why := c.refuse(a); why != "" {
			return fail(reason{CodeAddress, why}, nil)
		}
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
	fail := func(r reason, err error) *Error {
		return &Error{Identifier: id, Code: r.code, Reason: r.text, Err: err}
	}
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
