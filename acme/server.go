package acme

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"certmaker/core"
	"certmaker/httplog"
)

// Config wires a Server.
type Config struct {
	// Core keeps ACME's accounts, orders and authorizations and decides
	// on them; it issues, revokes and proves names: ACME is one of its
	// doors.
	Core   *core.Service
	Logger *slog.Logger
}

// Server is the ACME server, an http.Handler for /acme/. It keeps nothing
// but its nonces (and those in the store, when several nodes serve it).
type Server struct {
	core   *core.Service
	log    *slog.Logger
	nonces *nonces
	router *httprouter.Router
}

// New builds the routes over the core, with the nonce key it keeps.
func New(cfg Config) (*Server, error) {
	if cfg.Core == nil {
		return nil, errors.New("acme: the core is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key, err := cfg.Core.ACMENonceKey()
	if err != nil {
		return nil, err
	}
	s := &Server{core: cfg.Core, log: cfg.Logger, nonces: newNonces(key, nonceWindow)}
	if cfg.Core.SharedACMENonces() {
		s.nonces = newSharedNonces(key, cfg.Core.SpendACMENonce, cfg.Core.Now, cfg.Core.SharedACMENoncesPerMinute(), nonceWindow)
	}
	s.routes()
	return s, nil
}

// Paths of the ACME resources, below the public URL.
const (
	pathDirectory  = "/acme/directory"
	pathNewNonce   = "/acme/new-nonce"
	pathNewAccount = "/acme/new-account"
	pathNewOrder   = "/acme/new-order"
	pathRevokeCert = "/acme/revoke-cert"
	pathKeyChange  = "/acme/key-change"
	pathAccount    = "/acme/account/"
	pathOrder      = "/acme/order/"
	pathAuthz      = "/acme/authz/"
	pathChallenge  = "/acme/chall/"
	pathCert       = "/acme/cert/"
	// pathRenewalInfo is RFC 9773's renewalInfo: GET it with a certID.
	pathRenewalInfo = "/acme/renewal-info"
)

func (s *Server) routes() {
	r := httprouter.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleOPTIONS = false
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.SetRoute(r, "/acme/")
		s.writeProblem(w, r, notFound("ACME resource"))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.SetRoute(r, "/acme/")
		// Every resource but the directory and newNonce is POST-as-GET.
		s.writeProblem(w, r, newProblem(probMalformed, http.StatusMethodNotAllowed, "method %s not allowed here (ACME resources take POST, or POST-as-GET)", r.Method))
	})
	r.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) {
		s.log.Error("panic in ACME handler", "method", r.Method, "panic", v)
		s.writeProblem(w, r, internal(errors.New("panic")))
	}
	s.router = r

	s.handle(http.MethodGet, pathDirectory, s.handleDirectory)
	s.handle(http.MethodHead, pathNewNonce, s.handleNewNonce)
	s.handle(http.MethodGet, pathNewNonce, s.handleNewNonce)
	s.handle(http.MethodPost, pathNewAccount, s.postRefusing(byJWK, s.refuseNewAccount, s.handleNewAccount))
	s.handle(http.MethodPost, pathAccount+":id", s.post(byKID, s.handleAccount))
	s.handle(http.MethodPost, pathAccount+":id/orders", s.post(byKID, s.handleAccountOrders))
	s.handle(http.MethodPost, pathAccount+":id/orders/:cursor", s.post(byKID, s.handleAccountOrders))
	s.handle(http.MethodPost, pathKeyChange, s.post(byKID, s.handleKeyChange))
	s.handle(http.MethodPost, pathNewOrder, s.post(byKID, s.handleNewOrder))
	s.handle(http.MethodPost, pathOrder+":id", s.post(byKID, s.handleOrder))
	s.handle(http.MethodPost, pathOrder+":id/finalize", s.post(byKID, s.handleFinalize))
	s.handle(http.MethodPost, pathAuthz+":id", s.post(byKID, s.handleAuthz))
	s.handle(http.MethodPost, pathChallenge+":authz/:id", s.post(byKID, s.handleChallenge))
	s.handle(http.MethodPost, pathCert+":serial", s.post(byKID, s.handleCertificate))
	s.handle(http.MethodPost, pathRevokeCert, s.post(byEither, s.handleRevokeCert))
	s.handle(http.MethodGet, pathRenewalInfo+"/:certid", s.handleRenewalInfo)
}

// ServeHTTP answers every ACME request with a fresh nonce (RFC 8555 6.5)
// and a link to the directory, whatever its outcome.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Replay-Nonce", s.nonces.next())
	w.Header().Add("Link", link(s.url(pathDirectory), "index"))
	w.Header().Set("Cache-Control", "no-store")
	s.router.ServeHTTP(w, r)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error

// handle registers h under its pattern, labels the request log with it, and
// renders any error h returns as a problem document.
func (s *Server) handle(method, pattern string, h handlerFunc) {
	s.router.Handle(method, pattern, func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		httplog.SetRoute(r, pattern)
		if err := h(w, r, p); err != nil {
			s.writeProblem(w, r, err)
		}
	})
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, err, func(cause error) {
		s.log.Error("ACME request failed", "method", r.Method, "path", r.URL.Path, "err", cause)
	})
}

// url is the public URL of an ACME path.
func (s *Server) url(path string) string { return s.core.PublicURL() + path }

func (s *Server) accountURL(id string) string { return s.url(pathAccount + id) }
func (s *Server) orderURL(id string) string   { return s.url(pathOrder + id) }
func (s *Server) authzURL(id string) string   { return s.url(pathAuthz + id) }
func (s *Server) certURL(serial *big.Int) string {
	return s.url(pathCert + serial.String())
}
func (s *Server) challengeURL(authz, id string) string {
	return s.url(pathChallenge + authz + "/" + id)
}

func link(url, rel string) string { return "<" + url + ">;rel=\"" + rel + "\"" }

// writeJSON answers with a JSON resource.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return internal(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

type directory struct {
	NewNonce    string        `json:"newNonce"`
	NewAccount  string        `json:"newAccount"`
	NewOrder    string        `json:"newOrder"`
	RevokeCert  string        `json:"revokeCert"`
	KeyChange   string        `json:"keyChange"`
	RenewalInfo string        `json:"renewalInfo"`
	Meta        directoryMeta `json:"meta"`
}

type directoryMeta struct {
	Website                 string `json:"website,omitempty"`
	ExternalAccountRequired bool   `json:"externalAccountRequired"`
}

func (s *Server) handleDirectory(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	return writeJSON(w, http.StatusOK, directory{
		NewNonce:    s.url(pathNewNonce),
		NewAccount:  s.url(pathNewAccount),
		NewOrder:    s.url(pathNewOrder),
		RevokeCert:  s.url(pathRevokeCert),
		KeyChange:   s.url(pathKeyChange),
		RenewalInfo: s.url(pathRenewalInfo),
		Meta:        directoryMeta{Website: s.core.PublicURL(), ExternalAccountRequired: s.core.ACMERequiresBinding()},
	})
}

// handleNewNonce: ServeHTTP has set the nonce already (RFC 8555 7.2).
func (s *Server) handleNewNonce(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// timestamp formats a time as RFC 3339 for ACME objects.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
