package ocsp

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// Bounds on what a client may make us read. A real request is a few hundred
// bytes (one CertID with SHA-512 hashes, a 20-octet serial and a nonce).
const (
	maxGETPath  = 2 << 10
	maxPOSTBody = 10 << 10
)

// ServeHTTP handles GET <anything>/ocsp/<base64> (RFC 5019 §5) and POST with
// the DER request as body; HEAD is answered as GET. Every OCSP answer,
// error responses included, is 200 with Content-Type
// application/ocsp-response (RFC 6960 Appendix A): clients read the status
// inside. A request too big to read gets malformedRequest like any other
// unreadable one, since an OCSP client understands that and not an HTTP 413.
func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var der []byte // nil when unreadable, which answers malformedRequest
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		der = getRequest(req.URL)
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxPOSTBody))
		if err == nil {
			der = body
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	res, err := r.respond(der)
	if err != nil && r.logger != nil {
		r.logger.LogAttrs(req.Context(), slog.LevelError, "answering ocsp request", slog.Any("err", err))
	}

	h := w.Header()
	e := res.entry
	if e == nil {
		h.Set("Content-Type", "application/ocsp-response")
		h.Set("Cache-Control", "no-cache, no-store")
		h.Set("Content-Length", strconv.Itoa(len(res.der)))
		w.WriteHeader(http.StatusOK)
		w.Write(res.der)
		return
	}
	// The values are the entry's, made once; the keys are in canonical
	// form, as Header.Set would write them ("Etag", not "ETag").
	eh := e.header()
	h["Content-Type"] = eh.contentType
	if req.Method == http.MethodPost || !res.cacheable {
		// POST answers are not cached by HTTP caches anyway; error and
		// nonce answers must not be.
		h["Cache-Control"] = eh.noCache
	} else {
		// RFC 5019 §6.2: let caches keep the response until nextUpdate.
		h["Cache-Control"] = eh.cacheControl(int64(res.maxAge.Seconds()))
		h["Last-Modified"] = eh.lastModified
		h["Expires"] = eh.expires
		h["Etag"] = eh.etag
		if inm := req.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h["Content-Length"] = eh.contentLength
	w.WriteHeader(http.StatusOK)
	// A failed write means the client went away; nothing is left to do.
	w.Write(res.der)
}

// entryHeaders are the HTTP header values of one signed response. A cached
// response is served many times, so they are made once, not per request.
// The slices go into response headers as they are: nothing in net/http
// writes into a header value slice (Add appends to a full one, which copies).
type entryHeaders struct {
	contentType, noCache, contentLength []string
	lastModified, expires, etag         []string

	// maxAge is the last Cache-Control value made: max-age counts down
	// once a second, so consecutive requests share it.
	maxAge atomic.Pointer[maxAgeHeader]
}

type maxAgeHeader struct {
	seconds int64
	value   []string
}

// header returns e's header values, making them on first use.
func (e *entry) header() *entryHeaders {
	e.headersOnce.Do(func() {
		e.headers = &entryHeaders{
			contentType:   []string{"application/ocsp-response"},
			noCache:       []string{"no-cache, no-store"},
			contentLength: []string{strconv.Itoa(len(e.der))},
			lastModified:  []string{e.thisUpdate.UTC().Format(http.TimeFormat)},
			expires:       []string{e.nextUpdate.UTC().Format(http.TimeFormat)},
			etag:          []string{e.etag},
		}
	})
	return e.headers
}

func (eh *entryHeaders) cacheControl(seconds int64) []string {
	if m := eh.maxAge.Load(); m != nil && m.seconds == seconds {
		return m.value
	}
	m := &maxAgeHeader{seconds: seconds, value: []string{
		"max-age=" + strconv.FormatInt(seconds, 10) + ", public, no-transform, must-revalidate",
	}}
	eh.maxAge.Store(m)
	return m.value
}

// decodeGETPath returns the DER request in a GET path, or nil.
//
// It works on the escaped path: the cleaned, decoded one has lost "//" and
// turned %2F into a separator. The request is everything after the first
// "/ocsp/", since base64 may itself contain "/ocsp/"; a path without it (the
// handler mounted behind http.StripPrefix) is the request whole.
func decodeGETPath(escaped string) []byte {
	if len(escaped) > maxGETPath {
		return nil
	}
	// PathUnescape, not QueryUnescape: a literal "+" is base64, not a space.
	b64, err := url.PathUnescape(escaped[requestStart(escaped):])
	if err != nil {
		return nil
	}
	return decodeBase64(b64)
}

// requestStart is where the request begins in an escaped GET path.
func requestStart(escaped string) int {
	if i := strings.Index(escaped, "/ocsp/"); i >= 0 {
		return i + len("/ocsp/")
	}
	if strings.HasPrefix(escaped, "/") {
		return 1
	}
	return 0
}

// decodeBase64 decodes a request in whichever base64 the client used.
func decodeBase64(b64 string) []byte {
	// Clients differ on padding and alphabet; "-" and "_" cannot occur in
	// standard base64 and "+" and "/" not in URL-safe, so at most one fits.
	for _, enc := range [...]*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if der, err := enc.DecodeString(b64); err == nil {
			return der
		}
	}
	return nil
}

// getRequest is decodeGETPath(u.EscapedPath()), made without the strings
// that EscapedPath and PathUnescape build for a path with escapes in it
// (most clients escape "/", "+" and "="), which cost more than the rest of
// a cached answer's parsing. In one pass it checks that RawPath is what
// EscapedPath would return (valid, and an encoding of Path) and finds the
// request in Path, already unescaped; anything unusual takes the long way.
func getRequest(u *url.URL) []byte {
	raw := u.RawPath
	if raw == "" || len(raw) > maxGETPath {
		return decodeGETPath(u.EscapedPath())
	}
	start := requestStart(raw)
	off, j := len(u.Path), 0 // off: where the request starts in Path
	for i := 0; i < len(raw); i++ {
		if i == start {
			off = j
		}
		c := raw[i]
		if c == '%' {
			// A "/" ends "/ocsp/", so start never falls inside an escape.
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return decodeGETPath(u.EscapedPath())
			}
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		} else if !validInEscapedPath(c) {
			return decodeGETPath(u.EscapedPath())
		}
		if j >= len(u.Path) || u.Path[j] != c {
			return decodeGETPath(u.EscapedPath())
		}
		j++
	}
	if j != len(u.Path) {
		return decodeGETPath(u.EscapedPath())
	}
	return decodeBase64(u.Path[off:])
}

// validInEscapedPath reports whether net/url leaves c as it is in a path's
// escaped form (the bytes its EscapedPath accepts in RawPath, "%" aside).
func validInEscapedPath(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@', '!', '\'', '(', ')', '*', '[', ']':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
