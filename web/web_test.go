package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/store"
	"certmaker/web"
)

func TestSignIn(t *testing.T) {
	t.Run("WrongToken", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.get("/signin")
		wrong := strings.Repeat("A", 43)
		a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {wrong}})
		if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "That token is not valid.") {
			t.Fatalf("wrong token: %d\n%s", a.status, a.body)
		}
		if strings.Contains(a.body, wrong) {
			t.Error("the refused token is echoed")
		}
		for _, c := range a.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "certmaker_session=") {
				t.Errorf("a wrong token got a session: %s", c)
			}
		}
		if a := b.get("/certificates"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin" {
			t.Errorf("after a wrong token /certificates answers %d %s", a.status, a.header.Get("Location"))
		}
	})
	t.Run("DisabledUser", func(t *testing.T) {
		e := newEnv(t)
		if err := e.ops.SetDisabled(context.Background(), "alice", true); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.get("/signin")
		a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {e.tokens["alice"]}})
		if a.status != http.StatusUnauthorized || !strings.Contains(a.body, "disabled") {
			t.Fatalf("disabled user: %d", a.status)
		}
	})
	t.Run("WithoutFormToken", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		// No visit to the form first: no cookie, no token. Login CSRF.
		a := b.post("/signin", url.Values{"token": {e.tokens["alice"]}})
		if a.status != http.StatusForbidden {
			t.Fatalf("sign-in post without the form's token: %d, want 403", a.status)
		}
	})
	t.Run("CookieAttributes", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.get("/signin")
		a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {e.tokens["alice"]}})
		if a.status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", a.status)
		}
		c := sessionCookie(t, a.header, "certmaker_session")
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over http", c)
		}
		if c.MaxAge < 11*3600 || c.MaxAge > 12*3600 || c.Expires.IsZero() {
			t.Errorf("session cookie lives %ds (expires %v), want 12h", c.MaxAge, c.Expires)
		}
		if len(c.Value) < 43 || c.Value == e.tokens["alice"] {
			t.Errorf("session id %q is not a fresh 256-bit id", c.Value)
		}
		e.noTokens()
	})
	t.Run("SecureOverHTTPS", func(t *testing.T) {
		e := newEnv(t)
		d := e.dashboard(t, "https://ca.example")
		get := httptest.NewRequest("GET", "https://ca.example/signin", nil)
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, get)
		// The sign-in form's token cookie is __Host- prefixed too, which
		// requires Secure and path /.
		if c := sessionCookie(t, rec.Header(), "__Host-certmaker_signin"); !c.Secure || c.Path != "/" || !c.HttpOnly {
			t.Errorf("sign-in cookie over https: %+v, want Secure, HttpOnly, path /", c)
		}
		form := csrfField.FindStringSubmatch(rec.Body.String())
		post := httptest.NewRequest("POST", "https://ca.example/signin",
			strings.NewReader(url.Values{"csrf": {form[1]}, "token": {e.tokens["alice"]}}.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.Header.Set("Origin", "https://ca.example")
		for _, c := range rec.Result().Cookies() {
			post.AddCookie(c)
		}
		rec = httptest.NewRecorder()
		d.ServeHTTP(rec, post)
		c := sessionCookie(t, rec.Header(), "__Host-certmaker_session")
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("over https: %+v, want Secure, HttpOnly, SameSite=Strict", c)
		}
		if c := sessionCookie(t, rec.Header(), "__Host-certmaker_signin"); c.MaxAge >= 0 || c.Path != "/" {
			t.Errorf("sign-in cookie not cleared after signing in: %+v", c)
		}
	})
}

// dashboard builds a second dashboard on e's store with another public URL.
func (e *env) dashboard(t *testing.T, public string) *web.Dashboard {
	t.Helper()
	cfg := config.Default()
	cfg.Server.PublicURL = public
	cfg.Certificates = config.Certificates{DefaultDays: 7, MinDays: 1, MaxDays: 182}
	svc, err := app.NewCore(cfg, e.db, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := web.New(web.Config{Core: nil, PublicURL: public})
	if err == nil {
		t.Fatal("web.New took a nil core")
	}
	d, err = web.New(web.Config{Core: svc, PublicURL: public})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sessionCookie(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %q", name, h.Values("Set-Cookie"))
	return nil
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "names": {"app.home.lan"}}
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"NoToken", url.Values{"names": {"app.home.lan"}}, nil},
		{"EmptyToken", form(""), nil},
		{"WrongToken", form(strings.Repeat("x", 43)), nil},
		{"OtherOrigin", form(b.csrf), []string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"CrossSiteFetch", form(b.csrf), []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}},
		{"OtherReferer", form(b.csrf), []string{"Origin", "", "Sec-Fetch-Site", "", "Referer", "http://evil.example/page"}},
		{"NullOrigin", form(b.csrf), []string{"Origin", "null", "Sec-Fetch-Site", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := b.post("/certificates/new", tc.form, tc.hdr...)
			if a.status != http.StatusForbidden {
				t.Fatalf("forged post: %d, want 403", a.status)
			}
		})
	}
	if n, _ := e.db.CountCertificates("alice"); n != 0 {
		t.Fatalf("forged posts issued %d certificates", n)
	}
	// The same form with the page's token, from this origin, works; also
	// from a browser that sends neither Origin nor Sec-Fetch-Site.
	if a := b.post("/certificates/new", form(b.csrf)); a.status != http.StatusSeeOther {
		t.Fatalf("genuine post: %d\n%s", a.status, a.body)
	}
	if a := b.post("/certificates/new", form(b.csrf), "Origin", "", "Sec-Fetch-Site", ""); a.status != http.StatusSeeOther {
		t.Fatalf("genuine post without Origin: %d", a.status)
	}
	// Another session's token is no good here.
	other := e.browser()
	other.signIn("alice")
	if a := b.post("/certificates/new", form(other.csrf)); a.status != http.StatusForbidden {
		t.Fatalf("another session's CSRF token: %d, want 403", a.status)
	}
}

func TestFormBodyBound(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	big := url.Values{"csrf": {b.csrf}, "names": {strings.Repeat("a.b,", 20<<10)}}
	if a := b.post("/certificates/new", big); a.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("80 KiB form: %d, want 413", a.status)
	}
}

func TestSignOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	session := b.client.Jar.Cookies(mustURL(e.srv.URL))
	a := b.post("/signout", url.Values{"csrf": {b.csrf}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/signin") {
		t.Fatalf("sign out: %d %s", a.status, a.header.Get("Location"))
	}
	if c := sessionCookie(t, a.header, "certmaker_session"); c.MaxAge >= 0 {
		t.Errorf("sign out leaves the cookie: %+v", c)
	}
	// The session is over on the server, not only in this browser.
	replay := e.browser()
	replay.client.Jar.SetCookies(mustURL(e.srv.URL), session)
	if a := replay.get("/certificates"); a.status != http.StatusSeeOther || a.header.Get("Location") != "/signin" {
		t.Fatalf("the old session cookie still works: %d", a.status)
	}
	// Signing out needs the CSRF token too (a forged sign-out is a nuisance).
	b.signIn("alice")
	if a := b.post("/signout", url.Values{}); a.status != http.StatusForbidden {
		t.Fatalf("sign out without CSRF token: %d, want 403", a.status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestSessionEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("UserDisabled", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.signIn("alice")
		if err := e.ops.SetDisabled(ctx, "alice", true); err != nil {
			t.Fatal(err)
		}
		if a := b.get("/certificates"); a.status != http.StatusSeeOther {
			t.Fatalf("a disabled user's session: %d, want 303 to sign in", a.status)
		}
		// Enabling again does not bring the session back.
		e.ops.SetDisabled(ctx, "alice", false)
		if a := b.get("/certificates"); a.status != http.StatusSeeOther {
			t.Fatalf("the session came back: %d", a.status)
		}
	})
	t.Run("TokenReplaced", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser()
		b.signIn("alice")
		if _, err := e.ops.ResetToken(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if a := b.get("/certificates"); a.status != http.StatusSeeOther {
			t.Fatalf("a session of a replaced token: %d, want 303 to sign in", a.status)
		}
	})
}

func TestAdminPages(t *testing.T) {
	e := newEnv(t)
	user := e.browser()
	user.signIn("alice")
	for _, path := range []string{"/admin", "/admin/users", "/admin/rotate-root"} {
		if a := user.get(path); a.status != http.StatusNotFound {
			t.Errorf("GET %s as a user: %d, want 404", path, a.status)
		}
	}
	if strings.Contains(user.get("/certificates").body, `href="/admin"`) {
		t.Error("a user is shown the admin link")
	}
	for _, path := range []string{"/admin/users", "/admin/users/root/disable", "/admin/rotate-root"} {
		if a := user.post(path, url.Values{"csrf": {user.csrf}, "name": {"mallory"}, "admin": {"on"}}); a.status != http.StatusNotFound {
			t.Errorf("POST %s as a user: %d, want 404", path, a.status)
		}
	}
	if _, err := e.db.User("mallory"); err == nil {
		t.Fatal("a user created a user")
	}
	if u, _ := e.db.User("root"); u.Disabled {
		t.Fatal("a user disabled an admin")
	}

	adm := e.browser()
	adm.signIn("root")
	if a := adm.get("/admin"); a.status != 200 || !strings.Contains(a.body, "Root CAs") {
		t.Fatalf("status page: %d", a.status)
	}
	// Create a user: the token is on that one answer, and works.
	a := adm.post("/admin/users", url.Values{"csrf": {adm.csrf}, "name": {"bob"}})
	m := regexp.MustCompile(`id="new-token">([A-Za-z0-9_-]{43})<`).FindStringSubmatch(a.body)
	if a.status != 200 || m == nil {
		t.Fatalf("create user: %d\n%s", a.status, a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Error("the page with a new token may be cached")
	}
	if _, err := e.db.UserByTokenHash(store.HashToken(m[1])); err != nil {
		t.Fatalf("the token shown for bob: %v", err)
	}
	if strings.Contains(adm.get("/admin/users").body, m[1]) {
		t.Error("the new token is shown again")
	}
	if a := adm.post("/admin/users", url.Values{"csrf": {adm.csrf}, "name": {"bob"}}); a.status != http.StatusConflict {
		t.Errorf("a second bob: %d, want 409", a.status)
	}
	if a := adm.post("/admin/users", url.Values{"csrf": {adm.csrf}, "name": {"-bad"}}); a.status != http.StatusBadRequest {
		t.Errorf("a bad name: %d, want 400", a.status)
	}
	// Disable and enable.
	if a := adm.post("/admin/users/bob/disable", url.Values{"csrf": {adm.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", a.status)
	}
	if u, _ := e.db.User("bob"); !u.Disabled {
		t.Fatal("bob is not disabled")
	}
	adm.post("/admin/users/bob/enable", url.Values{"csrf": {adm.csrf}})
	if u, _ := e.db.User("bob"); u.Disabled {
		t.Fatal("bob is not enabled")
	}
	// An admin cannot lock themselves out from here.
	adm.post("/admin/users/root/disable", url.Values{"csrf": {adm.csrf}})
	if u, _ := e.db.User("root"); u.Disabled {
		t.Fatal("the admin disabled themselves")
	}
	// Rotate the root, after the confirmation page.
	before, _ := e.ops.Status(context.Background())
	if a := adm.get("/admin/rotate-root"); a.status != 200 {
		t.Fatalf("rotate confirmation: %d", a.status)
	}
	if a := adm.post("/admin/rotate-root", url.Values{"csrf": {adm.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("rotate: %d", a.status)
	}
	after, _ := e.ops.Status(context.Background())
	if len(after.Roots) != len(before.Roots)+1 {
		t.Fatalf("roots %d -> %d after rotating", len(before.Roots), len(after.Roots))
	}
	e.noTokens()
}

func TestCertificateFlow(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"app.home.lan, 10.0.0.5\nMe@Example.com"}, "days": {"30"}, "key_type": {"ed25519"}})
	loc := a.header.Get("Location")
	id := strings.TrimPrefix(loc, "/certificates/")
	if a.status != http.StatusSeeOther || id == loc {
		t.Fatalf("request: %d %s\n%s", a.status, loc, a.body)
	}
	a = b.get(loc)
	for _, want := range []string{"Certificate issued.", "app.home.lan", "10.0.0.5", "Me@example.com", "ed25519", "expires in 30 days", "key.pem"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("details page lacks %q", want)
		}
	}
	// The root's fingerprint under "Root", the intermediate's under its
	// own name, both as openssl and the trust page show them.
	root, in := e.ops.Core.Authority().ActiveRoot(), e.ops.Core.Authority().Active()
	for label, fp := range map[string]string{"Root fingerprint": root.Fingerprint, "Intermediate fingerprint": in.Fingerprint} {
		want := "<dt>" + label + " (SHA-256)</dt><dd class=\"mono\">" + ca.Colons(fp) + "</dd>"
		if !strings.Contains(a.body, want) {
			t.Errorf("details page lacks %s", want)
		}
	}
	if a := b.get(loc + "/key.pem"); a.status != 200 || !strings.HasPrefix(a.body, "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("owner's key: %d", a.status)
	}
	if a := b.get(loc + "/certificate.pem"); a.status != 200 || a.header.Get("Content-Disposition") != `attachment; filename="app.home.lan.crt"` {
		t.Errorf("certificate download: %d %q", a.status, a.header.Get("Content-Disposition"))
	}
	// An admin sees it, but not its key; another user sees nothing.
	adm := e.browser()
	adm.signIn("root")
	if a := adm.get(loc); a.status != 200 || strings.Contains(a.body, "key.pem") {
		t.Errorf("admin's view: %d, key link shown: %v", a.status, strings.Contains(a.body, "key.pem"))
	}
	if a := adm.get(loc + "/key.pem"); a.status != http.StatusNotFound {
		t.Errorf("admin downloads another user's key: %d, want 404", a.status)
	}
	if a := b.get("/certificates/12345"); a.status != http.StatusNotFound {
		t.Errorf("unknown id: %d", a.status)
	}
	if a := b.get("/certificates/not-a-number"); a.status != http.StatusNotFound {
		t.Errorf("malformed id: %d", a.status)
	}
	// Bad input comes back on the form, with what was typed.
	a = b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"bad_name!.lan"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "bad_name!.lan") || !strings.Contains(a.body, `role="alert"`) {
		t.Errorf("bad name: %d", a.status)
	}
	// Revoke: the confirmation page, then the post.
	if a := b.get(loc + "/revoke"); a.status != 200 || !strings.Contains(a.body, "cannot be undone") {
		t.Fatalf("revoke confirmation: %d", a.status)
	}
	if a := b.post(loc+"/revoke", url.Values{"csrf": {b.csrf}, "reason": {"superseded"}}); a.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", a.status)
	}
	if a := b.get(loc); !strings.Contains(a.body, "Certificate revoked (superseded)") || !strings.Contains(a.body, "badge revoked") {
		t.Errorf("after revoking:\n%s", a.body)
	}
	if a := b.post(loc+"/revoke", url.Values{"csrf": {b.csrf}}); a.status != http.StatusSeeOther {
		t.Errorf("revoking again: %d", a.status)
	}
	if a := b.get(loc); !strings.Contains(a.body, "already revoked") {
		t.Error("revoking again says nothing")
	}
	e.noTokens()
}

func TestListFilterAndPaging(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	// 130 certificates, every third named "db-N"; some revoked.
	for i := range 130 {
		name := "web-" + strconv.Itoa(i) + ".home.lan"
		if i%3 == 0 {
			name = "db-" + strconv.Itoa(i) + ".home.lan"
		}
		a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {name}})
		if a.status != http.StatusSeeOther {
			t.Fatalf("request %d: %d", i, a.status)
		}
		if i%10 == 0 {
			b.post(a.header.Get("Location")+"/revoke", url.Values{"csrf": {b.csrf}})
		}
	}
	count := func(query string, want int) {
		t.Helper()
		seen := map[string]bool{}
		next := "/certificates?" + query
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("paging does not end")
			}
			a := b.get(next)
			if a.status != 200 {
				t.Fatalf("%s: %d", next, a.status)
			}
			for _, m := range regexp.MustCompile(`<tr class="\w+">\s*<td data-label="Names"><a href="/certificates/(\d+)">`).FindAllStringSubmatch(a.body, -1) {
				if seen[m[1]] {
					t.Fatalf("%s: %s listed twice", query, m[1])
				}
				seen[m[1]] = true
			}
			next = ""
			if m := regexp.MustCompile(`<a href="([^"]+)" rel="next">`).FindStringSubmatch(a.body); m != nil {
				next = strings.ReplaceAll(m[1], "&amp;", "&")
			}
		}
		if len(seen) != want {
			t.Errorf("%q lists %d certificates, want %d", query, len(seen), want)
		}
	}
	count("", 130)
	count("q=db-", 44)
	count("q=DB-1", 13) // db-12, 15, 18 and 102 to 129 by three
	count("status=revoked", 13)
	count("status=valid", 117)
	count("status=revoked&q=db-", 5) // 0, 30, 60, 90, 120
	count("status=expired", 0)
	// A name with a dot is looked up in the name index: it and every name
	// under it.
	count("q=home.lan", 130)
	count("q=.home.lan", 130)
	count("q=db-30.home.lan", 1)
	count("q=DB-30.Home.Lan", 1)
	count("q=nowhere.home.lan", 0)
	count("status=revoked&q=home.lan", 13)
	count("status=valid&q=db-30.home.lan", 0)
	if a := b.get("/certificates?cursor=zz"); a.status != http.StatusBadRequest {
		t.Errorf("a bad cursor: %d, want 400", a.status)
	}
	// A user's owner parameter is ignored: always their own.
	adm := e.browser()
	adm.signIn("root")
	if a := adm.get("/certificates"); strings.Contains(a.body, "db-0.home.lan") {
		t.Error("an admin's own list shows alice's certificates")
	}
	// Names may wrap after their dots (<wbr>).
	if a := adm.get("/certificates?owner=alice&q=db-0."); !strings.Contains(strings.ReplaceAll(a.body, "<wbr>", ""), "db-0.home.lan") {
		t.Error("an admin cannot list alice's certificates")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	check := func(path string, a answer) {
		t.Helper()
		want := map[string]string{
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "same-origin",
			"X-Content-Type-Options": "nosniff",
		}
		for k, v := range want {
			if got := a.header.Get(k); got != v {
				t.Errorf("%s: %s %q, want %q", path, k, got, v)
			}
		}
		csp := a.header.Get("Content-Security-Policy")
		for _, part := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'"} {
			if !strings.Contains(csp, part) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, part)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code", path)
		}
	}
	check("/signin", b.get("/signin"))
	b.signIn("alice")
	for _, p := range []string{"/certificates", "/certificates/new", "/nope"} {
		a := b.get(p)
		check(p, a)
		if strings.Contains(a.body, "<script>") || strings.Contains(a.body, " onclick=") || strings.Contains(a.body, " style=") {
			t.Errorf("%s has inline script or style", p)
		}
	}
	if a := b.get("/nope"); a.status != http.StatusNotFound {
		t.Errorf("/nope: %d", a.status)
	}
	// The API keeps its own routes.
	if a := b.get("/api/certificates"); a.status != http.StatusUnauthorized {
		t.Errorf("/api/certificates without token: %d, want 401 (the API's, not the dashboard's)", a.status)
	}
}

// TestNotFound_SignedIn: a path without a page says so, and offers a
// signed-in user their certificates, not a sign-in; a stranger gets the
// sign-in link.
func TestNotFound_SignedIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn("alice")
	a := b.get("/no/such/page")
	if a.status != http.StatusNotFound || !strings.Contains(a.body, "There is no page here") {
		t.Fatalf("unknown path: %d", a.status)
	}
	if strings.Contains(a.body, `href="/signin"`) || !strings.Contains(a.body, `href="/certificates">Back to your certificates`) {
		t.Errorf("a signed-in user's 404 offers to sign in, or not their certificates:\n%s", a.body)
	}
	if a := e.browser().get("/no/such/page"); a.status != http.StatusNotFound || !strings.Contains(a.body, `href="/signin"`) {
		t.Errorf("a stranger's 404: %d, no sign-in link", a.status)
	}
}
