package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"certmaker/core"
	"certmaker/store"
)

// TestCSRF_EveryPostRoute posts to every state-changing route of the
// dashboard, as an admin, without the form token and with a wrong one:
// each must answer 403 and change nothing. The routes are read from
// web.go, so a POST route added later without a case here fails the test.
func TestCSRF_EveryPostRoute(t *testing.T) {
	e := newEnv(t)
	adm := e.browser()
	adm.signIn("root")
	// Something for the routes with an id to act on.
	a := adm.post("/certificates/new", url.Values{"csrf": {adm.csrf}, "names": {"app.home.lan"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("issuing: %d\n%s", a.status, a.body)
	}
	id := strings.TrimPrefix(a.header.Get("Location"), "/certificates/")
	if a := adm.get("/certificates"); a.status != 200 {
		t.Fatalf("list: %d", a.status)
	}
	forms := map[string]url.Values{
		"/signout":                    {},
		"/certificates/new":           {"names": {"forged.home.lan"}},
		"/certificates/{id}/revoke":   {"reason": {"keyCompromise"}},
		"/challenges/{id}/check":      {"port": {"80"}},
		"/admin/users":                {"name": {"mallory"}, "admin": {"on"}},
		"/admin/users/{name}/disable": {},
		"/admin/users/{name}/enable":  {},
		"/admin/users/{name}/policy":  {"allow": {"forged.home.lan"}, "challenge": {"optional"}, "confirm": {"yes"}},
		"/admin/rotate-root":          {"confirm": {"on"}},
	}
	paths := map[string]string{
		"/certificates/{id}/revoke":   "/certificates/" + id + "/revoke",
		"/challenges/{id}/check":      "/challenges/0123456789abcdef0123456789abcdef/check",
		"/admin/users/{name}/disable": "/admin/users/alice/disable",
		"/admin/users/{name}/enable":  "/admin/users/alice/enable",
		"/admin/users/{name}/policy":  "/admin/users/alice/policy",
	}
	src, err := os.ReadFile("web.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`d\.handle\("POST (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < len(forms) {
		t.Fatalf("found %d POST routes in web.go, the test knows %d", len(routes), len(forms))
	}
	before := snapshot(t, e)
	for _, m := range routes {
		route := m[1]
		if route == "/signin" {
			continue // no session yet; TestSignIn covers its own form token
		}
		form, ok := forms[route]
		if !ok {
			t.Errorf("POST %s has no CSRF case in this test", route)
			continue
		}
		path := route
		if p, ok := paths[route]; ok {
			path = p
		}
		for _, tok := range []string{"", strings.Repeat("x", 43)} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if tok != "" {
				f.Set("csrf", tok)
			}
			if a := adm.post(path, f); a.status != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d, want 403", path, tok, a.status)
			}
		}
	}
	if after := snapshot(t, e); after != before {
		t.Errorf("forged posts changed the state:\nbefore %s\nafter  %s", before, after)
	}
	// The session survived the forged sign-out, and the real token works.
	if a := adm.get("/admin"); a.status != 200 {
		t.Fatalf("admin page after forged posts: %d", a.status)
	}
	if a := adm.post("/admin/users/alice/disable", url.Values{"csrf": {adm.csrf}}); a.status != http.StatusSeeOther {
		t.Fatalf("genuine disable: %d", a.status)
	}
	if u, _ := e.db.User("alice"); !u.Disabled {
		t.Fatal("the genuine disable did nothing, so the 403s above prove nothing")
	}
}

// snapshot describes what a forged post could change: users and their
// state, certificates and their revocation, the roots.
func snapshot(t *testing.T, e *env) string {
	t.Helper()
	var b strings.Builder
	users, err := e.db.Users()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		fmt.Fprintf(&b, "user %s admin=%v disabled=%v token=%x policy=%q; ", u.Name, u.Admin, u.Disabled, u.TokenHash, core.PolicySummary(u.Policy))
	}
	n, err := e.db.CountAllCertificates()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "certificates %d; ", n)
	for _, name := range []string{"root", "alice"} {
		certs, _, err := e.db.ListCertificates(store.ListQuery{Owner: name, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range certs {
			fmt.Fprintf(&b, "cert %s revoked=%v; ", c.Serial, c.Revoked)
		}
	}
	roots, active, err := e.db.Roots()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "roots %d active %s", len(roots), active)
	return b.String()
}
