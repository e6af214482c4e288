package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"certmaker/config"
	"certmaker/internal/dnstest"
)

// TestRequest_DNSProof: with challenges required the request form offers
// a DNS proof; choosing it, a wildcard is accepted, the challenge page
// lists the TXT records to publish, and checking looks them up: each
// name's result, then the certificate.
func TestRequest_DNSProof(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	e := newEnvWith(t, func(c *config.Config) {
		c.Challenge.Required = true
		c.Challenge.DNSResolvers = []string{srv.Addr.String()}
	})
	b := e.browser()
	b.signIn("alice")
	form := b.get("/certificates/new")
	if !strings.Contains(form.body, `name="challenge" value="dns"`) || !strings.Contains(form.body, `id="challenge-http" name="challenge" value="http" checked`) {
		t.Fatalf("the form offers no choice of proof\n%s", form.body)
	}

	// Over HTTP a wildcard is refused in the form's words; an unknown
	// proof too.
	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"*.lab.test"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "can only be proven with a DNS challenge") {
		t.Fatalf("a wildcard over HTTP: %d\n%s", a.status, a.body)
	}
	a = b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"lab.test"}, "challenge": {"pigeon"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "Choose how to prove the names") {
		t.Fatalf("an unknown proof: %d\n%s", a.status, a.body)
	}

	a = b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"*.lab.test, nas.lab.test, localhost"}, "challenge": {"dns"}})
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/challenges/") {
		t.Fatalf("request: %d %s\n%s", a.status, loc, a.body)
	}
	page := b.get(loc)
	records := regexp.MustCompile(`<code>([^<]+(?:<wbr>[^<]+)*)</code></td><td data-label="TXT value"><code id="txt-\d+">([^<]+)</code>`).FindAllStringSubmatch(page.body, -1)
	if len(records) != 2 || strings.ReplaceAll(records[0][1], "<wbr>", "") != "_acme-challenge.lab.test" ||
		strings.ReplaceAll(records[1][1], "<wbr>", "") != "_acme-challenge.nas.lab.test" || records[0][2] != records[1][2] {
		t.Fatalf("records %q\n%s", records, page.body)
	}
	if strings.Contains(page.body, `name="port"`) || !strings.Contains(page.body, "update add _acme-challenge.lab.test. 300 TXT") {
		t.Errorf("the page asks for a port, or shows no nsupdate example\n%s", page.body)
	}
	value := records[0][2]

	srv.TXT("_acme-challenge.lab.test", value)
	srv.TXT("_acme-challenge.nas.lab.test", "stale")
	a = b.post(loc+"/check", url.Values{"csrf": {b.csrf}})
	rows := regexp.MustCompile(`(?s)<tr class="(ok|failed|exempt)">`).FindAllStringSubmatch(a.body, -1)
	if a.status != http.StatusUnprocessableEntity || len(rows) != 3 || rows[0][1] != "ok" || rows[1][1] != "failed" || rows[2][1] != "exempt" {
		t.Fatalf("check: %d %v\n%s", a.status, rows, a.body)
	}
	if !strings.Contains(a.body, "wrong TXT value at _acme-challenge.nas.lab.test") || !strings.Contains(a.body, "publish exactly the value above") ||
		strings.Contains(a.body, "stale") {
		t.Errorf("the failure is not explained, or repeats the record\n%s", a.body)
	}

	srv.TXT("_acme-challenge.nas.lab.test", "stale", value)
	a = b.post(loc+"/check", url.Values{"csrf": {b.csrf}})
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/certificates/") {
		t.Fatalf("check with both records: %d %s\n%s", a.status, a.header.Get("Location"), a.body)
	}
	cert := b.get(a.header.Get("Location"))
	if !strings.Contains(cert.body, "TXT record") || !strings.Contains(cert.body, "lab.test") {
		t.Errorf("the certificate's page\n%s", cert.body)
	}
	e.noTokens()
}
