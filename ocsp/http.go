package ocsp

import (
	"encoding/base64"
	"io"
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
		der = decodeGETPath(req.URL.EscapedPath())
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
		r.logger.Error("answering ocsp request", "err", err)
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
	if i := strings.Index(escaped, "/ocsp/"); i >= 0 {
		escaped = escaped[i+len("/ocsp/"):]
	} else {
		escaped = strings.TrimPrefix(escaped, "/")
	}
	// PathUnescape, not QueryUnescape: a literal "+" is base64, not a space.
	b64, err := url.PathUnescape(escaped)
	if err != nil {
		return nil
	}
	// Clients differ on padding and alphabet; "-" and "_" cannot occur in
	// standard base64 and "+" and "/" not in URL-safe, so at most one fits.
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if der, err := enc.DecodeString(b64); err == nil {
			return der
		}
	}
	return nil
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
