package api

import (
	"context"
	"crypto"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/ocsp"
	"certmaker/store"
)

// Store is what the API needs from storage.
type Store interface {
	UserByTokenHash(hash []byte) (store.User, error)
	PutCertificate(c *store.Certificate) error
	Certificate(serial *big.Int) (store.Certificate, error)
	CertificateStatus(serial *big.Int) (store.CertificateStatus, error)
	PutChallenge(ch store.Challenge) error
	Challenge(id string) (store.Challenge, error)
	CompleteChallenge(id string, c *store.Certificate) (store.Challenge, error)
	Revoke(serial *big.Int, at time.Time, reason int) (store.Certificate, error)
	Revocations(root string) (uint64, []store.Revocation, error)
	RevocationGeneration(root string) (uint64, error)
	NextCRLNumber(root string) (uint64, error)
	ListCertificates(q store.ListQuery) ([]store.Certificate, []byte, error)
	CountExpiring(from, to time.Time) (int, error)
	Ping() error
	// WritesFailing reports whether the last write failed for lack of space.
	WritesFailing() bool
}

// Config wires a Server.
type Config struct {
	Store     Store
	Authority *ca.Authority
	Logger    *slog.Logger

	// Checker proves control of names; with ChallengeRequired every request
	// must pass it before anything is signed.
	Checker           *challenge.Checker
	ChallengeRequired bool
	ChallengePort     int
	ChallengeExpiry   time.Duration

	// KeyGenLimit bounds concurrent RSA key generations, which take a core
	// each for up to seconds; default 2.
	KeyGenLimit int

	// ACME, if set, serves everything under /acme/; Web, if set, every
	// path outside /api/, /acme/ and /healthz (the dashboard). Both share
	// the request log and metrics; they label their routes with SetRoute.
	ACME http.Handler
	Web  http.Handler
}

// Server is the HTTP API.
type Server struct {
	store   Store
	ca      *ca.Authority
	log     *slog.Logger
	checker *challenge.Checker
	ocsp    *ocsp.Responder
	crls    *ca.CRLs

	challengeRequired bool
	challengePort     int
	challengeExpiry   time.Duration

	rsaSlots chan struct{}
	solving  keyedMutex // challenge ids being solved
	router   *httprouter.Router
	acme     http.Handler
	web      http.Handler
	metrics  *metrics

	storageFull atomic.Bool // an episode of full storage has been logged
}

// New checks cfg and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Authority == nil {
		return nil, errors.New("api: store and authority are required")
	}
	if cfg.ChallengeRequired && cfg.Checker == nil {
		return nil, errors.New("api: challenges required but no checker")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyGenLimit <= 0 {
		cfg.KeyGenLimit = 2
	}
	if cfg.ChallengePort == 0 {
		cfg.ChallengePort = 80
	}
	if cfg.ChallengeExpiry == 0 {
		cfg.ChallengeExpiry = 24 * time.Hour
	}
	s := &Server{
		store:             cfg.Store,
		ca:                cfg.Authority,
		log:               cfg.Logger,
		checker:           cfg.Checker,
		challengeRequired: cfg.ChallengeRequired,
		challengePort:     cfg.ChallengePort,
		challengeExpiry:   cfg.ChallengeExpiry,
		rsaSlots:          make(chan struct{}, cfg.KeyGenLimit),
		acme:              cfg.ACME,
		web:               cfg.Web,
	}
	src := revocationSource{cfg.Store}
	s.crls = ca.NewCRLs(cfg.Authority, src)
	s.metrics = newMetrics(s)
	responder, err := ocsp.New(ocsp.Config{Source: src, Issuers: s.ocspIssuers, Now: s.ocspClock, Logger: cfg.Logger, Observe: s.metrics.observeOCSP})
	if err != nil {
		return nil, err
	}
	s.ocsp = responder
	s.routes()
	return s, nil
}

// ServeHTTP logs every request and hands it to the API's router, or to
// the ACME server or the dashboard mounted beside it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.logRequest(w, r, http.HandlerFunc(s.dispatch))
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case s.acme != nil && strings.HasPrefix(p, "/acme/"):
		SetRoute(r, "/acme/")
		s.acme.ServeHTTP(w, r)
	case strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || s.web == nil:
		s.router.ServeHTTP(w, r)
	default:
		SetRoute(r, "/")
		s.web.ServeHTTP(w, r)
	}
}

// SetRoute labels the request's log line and metrics with a route pattern
// (never the raw path); mounted handlers call it with their own patterns.
func SetRoute(r *http.Request, pattern string) {
	if rec := recordOf(r); rec != nil {
		rec.route = pattern
	}
}

// SetUser names the user of the request in its log line.
func SetUser(r *http.Request, name string) {
	if rec := recordOf(r); rec != nil {
		rec.user = name
	}
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
		s.handle(http.MethodGet, p+"/ocsp/*request", s.handleOCSP)
		s.handle(http.MethodHead, p+"/ocsp/*request", s.handleOCSP)
		s.handle(http.MethodPost, p+"/ocsp", s.handleOCSP)
		s.handle(http.MethodGet, p+"/crl", s.handleCRL)
		s.handle(http.MethodGet, p+"/crl/:fingerprint", s.handleCRL)
	}
}

// handle registers h and records the route pattern for the request log.
func (s *Server) handle(method, pattern string, h httprouter.Handle) {
	s.router.Handle(method, pattern, func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if rec := recordOf(r); rec != nil {
			rec.route = pattern
		}
		h(w, r, p)
	})
}

func (s *Server) handleCertificatePost(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	verb := p.ByName("id")
	if rec := recordOf(r); rec != nil {
		rec.route = prefixOf(r) + "/certificate/" + verb
	}
	switch verb {
	case "request", "new":
		s.authed(s.handleRequest)(w, r, p)
	case "request-with-csr":
		s.authed(s.handleRequestWithCSR)(w, r, p)
	default:
		if rec := recordOf(r); rec != nil {
			rec.route = prefixOf(r) + "/certificate/:id"
		}
		Error(w, r, errRoute)
	}
}

func (s *Server) handleOCSP(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.ocsp.ServeHTTP(w, r)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if err := s.store.Ping(); err != nil {
		s.log.Error("health check failed", "err", err)
		http.Error(w, "database does not answer", http.StatusServiceUnavailable)
		return
	}
	if s.store.WritesFailing() {
		// Reads, OCSP and CRLs still answer; issuing and revoking do not.
		writeText(w, http.StatusServiceUnavailable, "degraded: the CA's storage is full; writes fail until space is freed\n")
		return
	}
	writeText(w, http.StatusOK, "ok\n")
}

// generateKey makes a key, holding an RSA slot when it is an RSA key so
// that a burst of RSA-4096 requests cannot take every core.
func (s *Server) generateKey(ctx context.Context, kt ca.KeyType) (crypto.Signer, error) {
	if kt.IsRSA() {
		select {
		case s.rsaSlots <- struct{}{}:
			defer func() { <-s.rsaSlots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return ca.GenerateKey(kt)
}
