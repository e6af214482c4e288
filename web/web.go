package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/httplog"
)

// Authority gives the roots to download, the issuers of certificates,
// validity bounds for the request form, and the clock. *ca.Authority
// implements it.
type Authority interface {
	ActiveRoot() *ca.Issuer
	Root(fingerprint string) *ca.Issuer
	Issuer(fingerprint string) *ca.Issuer
	Roots() []*ca.Issuer
	Days(n int) int
	Now() time.Time
}

// Config wires a Dashboard.
type Config struct {
	// Core is the service every page calls: the dashboard is one of its
	// doors.
	Core *core.Service
	// PublicURL is where people reach the dashboard; with https the
	// session cookie is Secure (and __Host- prefixed).
	PublicURL string
	Logger    *slog.Logger
	Version   string
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration
}

// Dashboard is the web UI, an http.Handler for every path the API leaves
// to it.
type Dashboard struct {
	core *core.Service
	ca   Authority
	log  *slog.Logger

	version string
	secure  bool   // served over https: Secure cookies
	origin  string // scheme://host[:port] of the public URL
	cookie  string // name of the session cookie

	sessions *sessions
	signins  *signinThrottle
	// formKey signs the sign-in form's tokens, so that a form cookie
	// this CA set (any of its nodes) can be told from one planted by
	// someone else.
	formKey []byte
	trust   *trust
	pages   *pages
	static  *assets
	cross   *http.CrossOriginProtection
	router  *router
}

// New checks cfg and builds the routes.
func New(cfg Config) (*Dashboard, error) {
	if cfg.Core == nil {
		return nil, errors.New("web: the core is required")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, errors.New("web: public URL must be an absolute http or https URL")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	static, err := loadAssets()
	if err != nil {
		return nil, err
	}
	pg, err := loadPages(static.version)
	if err != nil {
		return nil, err
	}
	tr, err := newTrust(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{
		core:     cfg.Core,
		ca:       cfg.Core.Authority(),
		log:      cfg.Logger,
		version:  cfg.Version,
		secure:   pub.Scheme == "https",
		origin:   pub.Scheme + "://" + strings.ToLower(pub.Host),
		sessions: newSessions(cfg.SessionTTL, cfg.Core.Now, cfg.Core),
		signins:  newSigninThrottle(cfg.Core.Now),
		trust:    tr,
		pages:    pg,
		static:   static,
		cross:    http.NewCrossOriginProtection(),
	}
	if d.formKey, err = cfg.Core.DashboardKey(); err != nil {
		return nil, err
	}
	d.cookie = "certmaker_session"
	if d.secure {
		// __Host-: only ever set by this host over https, for path /.
		d.cookie = "__Host-certmaker_session"
	}
	// Behind a proxy the Host header may differ from the public URL's.
	if err := d.cross.AddTrustedOrigin(d.origin); err != nil {
		return nil, err
	}
	d.router = newRouter(http.HandlerFunc(d.notFound))
	d.routes()
	d.router.mount()
	return d, nil
}

// maxForm bounds every form body, as the API bounds its bodies.
const maxForm = 64 << 10

// ServeHTTP sets the headers every dashboard answer carries and routes.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Pages are per user; static assets override this.
	h.Set("Cache-Control", "no-store")
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	d.router.ServeHTTP(w, r)
}

func (d *Dashboard) routes() {
	d.handle("GET /", d.handleHome)
	d.handle("GET /static/{file}", d.static.serve)
	d.handle("GET /signin", d.handleSignInForm)
	d.handle("POST /signin", d.handleSignIn)
	d.handle("POST /signout", d.authedPost(d.handleSignOut))

	d.handle("GET /certificates", d.authed(d.handleList))
	d.handle("GET /certificates/new", d.authed(d.handleRequestForm))
	d.handle("POST /certificates/new", d.authedPost(d.handleRequest))
	d.handle("GET /certificates/{id}", d.authed(d.handleDetails))
	d.handle("GET /certificates/{id}/certificate.pem", d.authed(d.handleCertPEM))
	d.handle("GET /certificates/{id}/key.pem", d.authed(d.handleKeyPEM))
	d.handle("GET /certificates/{id}/root.pem", d.authed(d.handleIssuerPEM))
	d.handle("GET /certificates/{id}/revoke", d.authed(d.handleRevokeForm))
	d.handle("POST /certificates/{id}/revoke", d.authedPost(d.handleRevoke))
	d.handle("GET /root.pem", d.authed(d.handleRootPEM))
	d.handle("GET /challenges/{id}", d.authed(d.handleChallenge))
	d.handle("POST /challenges/{id}/check", d.authedPost(d.handleCheck))

	d.trustRoutes()

	d.handle("GET /admin", d.authed(d.adminOnly(d.handleStatus)))
	d.handle("GET /admin/users", d.authed(d.adminOnly(d.handleUsers)))
	d.handle("POST /admin/users", d.authedPost(d.adminOnly(d.handleAddUser)))
	d.handle("GET /admin/users/{name}/disable", d.authed(d.adminOnly(d.handleDisableForm)))
	d.handle("POST /admin/users/{name}/disable", d.authedPost(d.adminOnly(d.handleDisable)))
	d.handle("POST /admin/users/{name}/enable", d.authedPost(d.adminOnly(d.handleEnable)))
	d.handle("GET /admin/users/{name}/policy", d.authed(d.adminOnly(d.handlePolicyForm)))
	d.handle("POST /admin/users/{name}/policy", d.authedPost(d.adminOnly(d.handlePolicy)))
	d.handle("GET /admin/rotate-root", d.authed(d.adminOnly(d.handleRotateForm)))
	d.handle("POST /admin/rotate-root", d.authedPost(d.adminOnly(d.handleRotate)))
}

// notFound is the page for every path without a route; a signed-in user
// keeps the navigation and is offered their certificates.
func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	httplog.SetRoute(r, "/")
	v, _ := d.current(w, r)
	d.renderError(w, r, v, http.StatusNotFound, "There is no page here.")
}

func (d *Dashboard) handleHome(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.current(w, r); ok {
		http.Redirect(w, r, "/certificates", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
