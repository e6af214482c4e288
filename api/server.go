package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
	"certmaker/httplog"
)

// Config wires a Server.
type Config struct {
	Core   *core.Service
	Logger *slog.Logger
}

// Server is the HTTP API, a door of the core: every route under /api (and
// /api/v1), /healthz, and the CA's public certificates /roots.pem and
// /intermediate.pem.
type Server struct {
	core   *core.Service
	log    *slog.Logger
	router *httprouter.Router
}

// New checks cfg and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Core == nil {
		return nil, errors.New("api: the core is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{core: cfg.Core, log: cfg.Logger}
	s.routes()
	return s, nil
}

// ServeHTTP answers an API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.router.ServeHTTP(w, r)
}

// prefixes are where every API route lives: /api, and /api/v1 for the
// clients of the CertMaker this grew from.
var prefixes = []string{"/api", "/api/v1"}

func (s *Server) routes() {
	r := httprouter.New()
	// Redirects would turn a client's POST into a GET and mangle base64 in
	// OCSP paths; an exact path or a 404 is clearer.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, errRoute)
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, errMethod)
	})
	r.PanicHandler = s.recoverPanic
	s.router = r

	s.handle(http.MethodGet, "/healthz", s.handleHealth)
	s.quiet(http.MethodGet, "/roots.pem", s.handleRootsPEM)
	s.quiet(http.MethodGet, "/intermediate.pem", s.handleIntermediatePEM)
	for _, p := range prefixes {
		s.handle(http.MethodGet, p+"/root-certificate/obtain", s.authed(s.handleRootObtain))
		// httprouter cannot hold both /certificate/request and
		// /certificate/:id/... in one method's tree, so the POST verbs
		// without an id share a dispatcher on :id.
		s.handle(http.MethodPost, p+"/certificate/:id", s.handleCertificatePost)
		s.handle(http.MethodGet, p+"/certificate/:id/obtain", s.authed(s.handleCertificateObtain))
		s.handle(http.MethodGet, p+"/certificate/:id", s.authed(s.handleCertificate))
		s.handle(http.MethodGet, p+"/certificates", s.authed(s.handleCertificates))
		s.handle(http.MethodGet, p+"/privatekey/:id/obtain", s.authed(s.handlePrivateKeyObtain))
		s.handle(http.MethodGet, p+"/challenge/:id/solve", s.authed(s.handleChallengeSolve))
		s.handle(http.MethodPost, p+"/challenge/:id/solve", s.authed(s.handleChallengeSolve))
		s.handle(http.MethodPost, p+"/certificate/:id/revoke", s.authed(s.handleRevoke))
		// OCSP and CRLs take no token: relying parties cannot send one.
		s.quiet(http.MethodGet, p+"/ocsp/*request", s.handleOCSP)
		s.quiet(http.MethodHead, p+"/ocsp/*request", s.handleOCSP)
		s.quiet(http.MethodPost, p+"/ocsp", s.handleOCSP)
		s.quiet(http.MethodGet, p+"/crl", s.handleCRL)
		s.quiet(http.MethodGet, p+"/crl/:fingerprint", s.handleCRL)
		s.quiet(http.MethodGet, p+"/issuer/:file", s.handleIssuer)
	}
}

// handle registers h and labels the request log with its route pattern.
func (s *Server) handle(method, pattern string, h httprouter.Handle) {
	s.router.Handle(method, pattern, func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		httplog.SetRoute(r, pattern)
		h(w, r, p)
	})
}

// quiet is handle for the routes whose successes log at Debug (OCSP, CRLs:
// see httplog.Quiet).
func (s *Server) quiet(method, pattern string, h httprouter.Handle) {
	s.handle(method, pattern, func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		httplog.Quiet(r)
		h(w, r, p)
	})
}

func (s *Server) handleCertificatePost(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	verb := p.ByName("id")
	httplog.SetRoute(r, prefixOf(r)+"/certificate/"+verb)
	switch verb {
	case "request", "new":
		s.authed(s.handleRequest)(w, r, p)
	case "request-with-csr":
		s.authed(s.handleRequestWithCSR)(w, r, p)
	default:
		httplog.SetRoute(r, prefixOf(r)+"/certificate/:id")
		Error(w, r, errRoute)
	}
}

func (s *Server) handleOCSP(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.core.OCSP().ServeHTTP(w, r)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	degraded, err := s.core.Health()
	switch {
	case core.KindOf(err) == core.Unavailable:
		// Logged once per episode by the core, not per check.
		httplog.Quiet(r)
		writeText(w, http.StatusServiceUnavailable, "the CA's storage cluster does not answer\n")
	case err != nil:
		s.log.Error("health check failed", "err", err)
		http.Error(w, "database does not answer", http.StatusServiceUnavailable)
	case degraded:
		// Reads, OCSP and CRLs still answer; issuing and revoking do not.
		writeText(w, http.StatusServiceUnavailable, "degraded: the CA's storage is full; writes fail until space is freed\n")
	default:
		httplog.Quiet(r)
		writeText(w, http.StatusOK, "ok\n")
	}
}

func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request, v any) {
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic in handler", slog.String("method", r.Method), slog.Any("panic", v))
	if httplog.Started(r) {
		return // the answer has started; a second status would corrupt it
	}
	writeText(w, http.StatusInternalServerError, "internal error\n")
}
