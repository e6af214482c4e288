package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"certmaker/config"
)

// TestRequest_EmailNeedsProvenDomain: with challenges required, the
// dashboard's request form refuses an email address whose domain is not
// among the names to prove, as the API does.
func TestRequest_EmailNeedsProvenDomain(t *testing.T) {
	e := newEnvWith(t, func(c *config.Config) { c.Challenge.Required = true })
	b := e.browser()
	b.signIn("alice")
	for _, names := range []string{"ceo@bank.example", "nas.home.lan, ceo@bank.example"} {
		a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {names}})
		if a.status == http.StatusSeeOther || !strings.Contains(a.body, "email address") {
			t.Errorf("%q: %d, want the form again naming the email rule\n%s", names, a.status, a.body)
		}
	}
	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"nas.home.lan, ops@nas.home.lan"}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/challenges/") {
		t.Errorf("an email below a name to prove: %d %s, want a challenge", a.status, a.header.Get("Location"))
	}
}

// TestRequest_PendingCap: the request form says, as the API does, that a
// user has as many challenges waiting as [challenge] max_pending allows.
func TestRequest_PendingCap(t *testing.T) {
	e := newEnvWith(t, func(c *config.Config) { c.Challenge.Required, c.Challenge.MaxPending = true, 2 })
	b := e.browser()
	b.signIn("alice")
	for i := range 2 {
		if a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"nas.home.lan"}}); a.status != http.StatusSeeOther {
			t.Fatalf("challenge %d: %d", i+1, a.status)
		}
	}
	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"nas.home.lan"}})
	if a.status != http.StatusTooManyRequests || !strings.Contains(a.body, "2 pending challenges") || !strings.Contains(a.body, `name="names"`) {
		t.Errorf("a third challenge: %d, want 429 and the form saying why\n%s", a.status, a.body)
	}
}
