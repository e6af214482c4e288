package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"certmaker/core"
	"certmaker/httplog"
	"certmaker/storage"
)

// viewer is the signed-in user of a request, read fresh from the store.
type viewer struct {
	user storage.User
	sess session
}

// actor is the viewer as the core knows it.
func (v *viewer) actor() core.Actor {
	return core.Actor{Door: core.DoorWeb, User: v.user.Name, Admin: v.user.Admin}
}

// handler is a page for a signed-in user.
type handler func(http.ResponseWriter, *http.Request, *viewer)

// signinCookie carries the sign-in form's CSRF token (double submit):
// there is no session yet to keep it in. Over https it is named
// "__Host-" + signinCookie, with path /, so that no other host or plain
// http page can set it (RFC 6265bis, cookie prefixes).
const signinCookie = "certmaker_signin"

// signinFormCookie is the sign-in form token cookie, named and scoped for
// the public URL's scheme.
func (d *Dashboard) signinFormCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: signinCookie, Value: value, Path: "/signin", MaxAge: maxAge,
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode}
	if d.secure {
		c.Name, c.Path = "__Host-"+signinCookie, "/"
	}
	return c
}

// current resolves the session cookie to an enabled user. The user is read
// per request, so disabling a user or replacing their token ends their
// sessions at once.
func (d *Dashboard) current(w http.ResponseWriter, r *http.Request) (*viewer, bool) {
	c, err := r.Cookie(d.cookie)
	if err != nil || c.Value == "" {
		return nil, false
	}
	sess, ok := d.sessions.get(c.Value)
	if !ok {
		d.clearSessionCookie(w)
		return nil, false
	}
	u, err := d.core.ActiveUser(r.Context(), sess.user)
	if err != nil || subtle.ConstantTimeCompare(u.TokenHash, sess.tokenHash) != 1 {
		if k := core.KindOf(err); k != "" && k != core.NotFound && k != core.Disabled {
			d.log.Error("reading session user", "err", err)
		}
		d.sessions.delete(sess.id)
		d.clearSessionCookie(w)
		return nil, false
	}
	httplog.SetUser(r, u.Name)
	return &viewer{user: u, sess: sess}, true
}

// authed runs h for a signed-in user and sends anyone else to sign in.
func (d *Dashboard) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := d.current(w, r)
		if !ok {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		h(w, r, v)
	}
}

// authedPost is authed plus the CSRF checks every form post passes.
func (d *Dashboard) authedPost(h handler) http.HandlerFunc {
	return d.authed(func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if status, msg := d.checkPost(r, v.sess.csrf); status != 0 {
			d.renderError(w, r, v, status, msg)
			return
		}
		h(w, r, v)
	})
}

// adminOnly hides a page from everyone but admins: for them it does not
// exist.
func (d *Dashboard) adminOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *viewer) {
		if !v.user.Admin {
			d.renderError(w, r, v, http.StatusNotFound, "There is no page here.")
			return
		}
		h(w, r, v)
	}
}

const forgedMessage = "This form did not come from this dashboard, or it has expired. Go back, reload the page and try again."

// checkPost parses a form post and checks that it came from a page of
// this dashboard: from this origin when the browser says so, and carrying
// the CSRF token that page got. It returns a status and message to refuse
// with, or 0.
func (d *Dashboard) checkPost(r *http.Request, want string) (int, string) {
	if !d.sameOrigin(r) {
		return http.StatusForbidden, forgedMessage
	}
	// Multipart for the CSR upload; everything else is urlencoded. The
	// body is bounded by maxForm, so every part stays in memory.
	err := r.ParseForm()
	if err == nil && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxForm)
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge, "The form is larger than 64 KiB."
		}
		return http.StatusBadRequest, "The form could not be read."
	}
	got := r.PostForm.Get("csrf")
	if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return http.StatusForbidden, forgedMessage
	}
	return 0, ""
}

// sameOrigin refuses requests a browser marks as cross-origin (Sec-Fetch-
// Site, Origin), and, for older browsers that send only a Referer, one
// from elsewhere. Requests that say nothing pass: the CSRF token decides.
func (d *Dashboard) sameOrigin(r *http.Request) bool {
	if err := d.cross.Check(r); err != nil {
		return false
	}
	if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
		return true // Check has judged these
	}
	ref := r.Header.Get("Referer")
	if ref == "" {
		return true
	}
	u, err := url.Parse(ref)
	if err != nil {
		return false
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	return origin == d.origin || strings.EqualFold(u.Host, r.Host)
}

func (d *Dashboard) setSessionCookie(w http.ResponseWriter, sess session) {
	http.SetCookie(w, &http.Cookie{
		Name:     d.cookie,
		Value:    sess.id,
		Path:     "/",
		Expires:  sess.expires,
		MaxAge:   int(time.Until(sess.expires).Seconds()),
		HttpOnly: true,
		Secure:   d.secure,
		SameSite: http.SameSiteStrictMode,
	})
}

func (d *Dashboard) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: d.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode})
}

// signinData is the sign-in page.
type signinData struct {
	Error     string
	SignedOut bool
}

func (d *Dashboard) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := d.current(w, r); ok {
		http.Redirect(w, r, "/certificates", http.StatusSeeOther)
		return
	}
	d.renderSignIn(w, r, http.StatusOK, signinData{SignedOut: r.URL.Query().Has("signed-out")})
}

// renderSignIn shows the form with a form token in a cookie and in the
// form; the posted form must carry both, equal.
func (d *Dashboard) renderSignIn(w http.ResponseWriter, r *http.Request, status int, data signinData) {
	// Keep a token the browser already has, so that two sign-in tabs do
	// not spoil each other's form; but only one this server made.
	tok := d.newFormToken()
	if c, err := r.Cookie(d.signinFormCookie("", 0).Name); err == nil && d.ownFormToken(c.Value) {
		tok = c.Value
	}
	http.SetCookie(w, d.signinFormCookie(tok, 3600))
	d.render(w, r, status, "signin", &page{Title: "Sign in", CSRF: tok, Data: data})
}

// newFormToken is a sign-in form token: 256 random bits and a MAC of
// them under the dashboard's key, base64url.
func (d *Dashboard) newFormToken() string {
	b := make([]byte, 32, 32+formMACSize)
	rand.Read(b) // never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(append(b, d.formMAC(b)...))
}

// formMACSize is the length of a form token's MAC: 128 bits.
const formMACSize = 16

func (d *Dashboard) formMAC(b []byte) []byte {
	m := hmac.New(sha256.New, d.formKey)
	m.Write([]byte("certmaker sign-in form\x00"))
	m.Write(b)
	return m.Sum(nil)[:formMACSize]
}

// ownFormToken reports whether tok is a form token this CA made (any node
// of its store: the key is derived from the store's).
func (d *Dashboard) ownFormToken(tok string) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 32+formMACSize {
		return false
	}
	return hmac.Equal(b[32:], d.formMAC(b[:32]))
}

// handleSignIn exchanges an API token for a session. The token is only
// hashed and looked up; it is never kept, logged or shown again.
//
// The form's token is a double-submit cookie: it proves the post came
// from a page that could read this site's cookie, unless the cookie
// itself was planted (a sibling host, a plain-http page). So a cookie
// this server did not make counts only with an Origin or Referer of this
// dashboard.
func (d *Dashboard) handleSignIn(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(d.signinFormCookie("", 0).Name)
	want := ""
	if err == nil {
		want = c.Value
	}
	if status, msg := d.checkPost(r, want); status != 0 {
		d.renderError(w, r, nil, status, msg)
		return
	}
	if !d.ownFormToken(want) && !d.saysSameOrigin(r) {
		d.renderError(w, r, nil, http.StatusForbidden, forgedMessage)
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		d.renderSignIn(w, r, http.StatusUnauthorized, signinData{Error: "Enter your API token."})
		return
	}
	// The token is always looked at: a right one signs in whatever its
	// address did before (behind a proxy or NAT, one address is many
	// people); only failures wait (failedSignIn).
	client := clientKey(r)
	u, err := d.core.Authenticate(r.Context(), token)
	if u.Name != "" {
		httplog.SetUser(r, u.Name)
	}
	switch core.KindOf(err) {
	case "":
		d.signins.succeed(client)
	case core.NotFound:
		if !d.refuseWaiting(w, r, client) {
			d.failedSignIn(r, client, "", "no user has that token")
			d.renderSignIn(w, r, http.StatusUnauthorized, signinData{Error: "That token is not valid."})
		}
		return
	case core.Disabled:
		if !d.refuseWaiting(w, r, client) {
			d.failedSignIn(r, client, u.Name, "the user is disabled")
			d.renderSignIn(w, r, http.StatusUnauthorized, signinData{Error: "This user is disabled."})
		}
		return
	default:
		d.renderError(w, r, nil, http.StatusInternalServerError, "")
		d.log.Error("signing in", "err", err)
		return
	}
	// A session this browser had before is replaced, not reused.
	if old, err := r.Cookie(d.cookie); err == nil {
		d.sessions.delete(old.Value)
	}
	sess, err := d.sessions.create(r.Context(), u.Name, u.TokenHash)
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	d.setSessionCookie(w, sess)
	http.SetCookie(w, d.signinFormCookie("", -1))
	http.Redirect(w, r, "/certificates", http.StatusSeeOther)
}

// refuseWaiting answers a failed sign-in 429 while its client must wait
// after its earlier failures, and reports whether it did; such a failure
// is neither counted nor logged again, so a client that keeps trying
// while refused writes no log line per attempt.
func (d *Dashboard) refuseWaiting(w http.ResponseWriter, r *http.Request, client string) bool {
	wait := d.signins.wait(client)
	if wait <= 0 {
		return false
	}
	secs := max(int(wait.Round(time.Second)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	d.renderSignIn(w, r, http.StatusTooManyRequests, signinData{
		Error: fmt.Sprintf("Too many failed sign-ins from your address: try again in %d seconds.", secs)})
	return true
}

// failedSignIn counts and logs a refused token: the client's address and
// why, never the token.
func (d *Dashboard) failedSignIn(r *http.Request, client, user, why string) {
	n := d.signins.fail(client)
	attrs := []any{"client", r.RemoteAddr, "reason", why, "failures", n}
	if user != "" {
		attrs = append(attrs, "user", user)
	}
	if wait := signinDelay(n); wait > 0 {
		attrs = append(attrs, "next_attempt_in", wait.String())
	}
	d.log.Warn("failed sign-in", attrs...)
}

// saysSameOrigin reports whether the request names this dashboard as its
// origin, by Origin or, from browsers that send none, Referer; a request
// that names none says nothing.
func (d *Dashboard) saysSameOrigin(r *http.Request) bool {
	if r.Header.Get("Origin") != "" {
		return d.cross.Check(r) == nil
	}
	return r.Header.Get("Referer") != "" && d.sameOrigin(r)
}

func (d *Dashboard) handleSignOut(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.sessions.delete(v.sess.id)
	d.clearSessionCookie(w)
	http.Redirect(w, r, "/signin?signed-out", http.StatusSeeOther)
}
