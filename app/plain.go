package app

import (
	"net/http"
	"strings"
)

// plainPaths are what the plain-HTTP listener answers itself when the CA
// serves HTTPS: what relying parties fetch without TLS (OCSP, RFC 5019;
// CRLs; the caIssuers certificates) and what bootstraps trust in the root
// (/roots.pem, the trust page and its assets), all without a token.
var plainPaths = []string{
	"/api/ocsp", "/api/v1/ocsp", "/api/crl", "/api/v1/crl", "/api/issuer/", "/api/v1/issuer/",
	"/roots.pem", "/intermediate.pem", "/healthz", "/trust", "/static/",
}

func plainPath(p string) bool {
	for _, prefix := range plainPaths {
		if p == prefix || strings.HasPrefix(p, prefix) && (strings.HasSuffix(prefix, "/") || p[len(prefix)] == '/') {
			return true
		}
	}
	return false
}

// plainHandler serves plainPaths with public and sends everything else to
// the same path under publicURL (308: a POST stays a POST). The target is
// built from the configured URL, never from the request's Host, so the
// redirect cannot be pointed elsewhere.
func plainHandler(public http.Handler, publicURL string) http.Handler {
	base := strings.TrimRight(publicURL, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if plainPath(r.URL.Path) {
			public.ServeHTTP(w, r)
			return
		}
		// Only the path and query of an ordinary request ("/..."): an
		// opaque or absolute request line ("GET x:@evil.example/p") would
		// otherwise make base+RequestURI() name another host.
		target := base + "/"
		if p := r.URL.EscapedPath(); r.URL.Opaque == "" && strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") {
			target = base + p
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
		}
		http.Redirect(w, r, target, http.StatusPermanentRedirect)
	})
}
