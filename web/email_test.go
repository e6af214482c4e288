package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"certmaker/api"
	"certmaker/challenge"
)

// TestRequest_EmailNeedsProvenDomain: with challenges required, the
// dashboard's request form refuses an email address whose domain is not
// among the names to prove, as the API does.
func TestRequest_EmailNeedsProvenDomain(t *testing.T) {
	checker, err := challenge.New(challenge.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *api.Config) { c.Checker, c.ChallengeRequired = checker, true })
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
