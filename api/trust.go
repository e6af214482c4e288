package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/core"
)

// The CA's own certificates are public and taken without a token: relying
// parties fetch the intermediate from a leaf's caIssuers URL, and people
// bootstrap trust from /roots.pem (checking its fingerprint, see docs/trust-chain.md).

// handleIssuer serves a root's or an intermediate's DER, as the caIssuers
// URL in certificates names it: /api/issuer/<fingerprint>.crt.
func (s *Server) handleIssuer(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	fp := strings.ToLower(strings.TrimSuffix(p.ByName("file"), ".crt"))
	der, err := s.core.IssuerDER(fp)
	if err != nil {
		Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Content-Length", strconv.Itoa(len(der)))
	// A certificate never changes under its fingerprint.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.WriteHeader(http.StatusOK)
	w.Write(der)
}

// handleRootsPEM serves every root, oldest first, for trust stores that
// should keep accepting certificates of rotated-out roots.
func (s *Server) handleRootsPEM(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	b, err := s.core.RootsPEM(r.Context(), true)
	if err != nil {
		Error(w, r, err)
		return
	}
	writePEM(w, b)
}

// handleIntermediatePEM serves the intermediate that signs now.
func (s *Server) handleIntermediatePEM(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	iss, err := s.core.ActiveIssuer()
	if err != nil {
		Error(w, r, err)
		return
	}
	if iss.IsRoot() {
		Error(w, r, core.Errorf(core.NotFound, "this CA has no intermediate: its one-tier root signs certificates itself (certmaker rotate-root makes a two-tier one)"))
		return
	}
	writePEM(w, ca.CertPEM(iss.Cert.Raw))
}
