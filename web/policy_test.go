package web_test

import (
	"context"
	"crypto/x509"
	"html"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"certmaker/admin"
	"certmaker/config"
)

func rules(s ...string) *[]string { return &s }

// hiddenField finds a form's hidden inputs, as a browser sends them.
var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// TestRequestForm_Policy: the request page shows the user their own
// policy and offers only the key types it allows; a request outside it
// shows the form again (403) with each refused name marked and why, for
// typed names and a CSR alike; one inside it is issued, shortened to the
// policy's maximum days.
func TestRequestForm_Policy(t *testing.T) {
	e := newEnv(t)
	days := 30
	if _, err := e.ops.SetPolicy(context.Background(), "alice", admin.PolicyChange{
		Allow: rules(".home.lan", "192.168.1.0/24"), Deny: rules("vault.home.lan"), MaxDays: &days, KeyTypes: rules("ecdsa-p384", "ed25519"),
	}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn("alice")
	page := b.get("/certificates/new")
	for _, want := range []string{"What you may ask for", "<code>.<wbr>home.<wbr>lan</code>", "<code>vault.<wbr>home.<wbr>lan</code>", "at most 30 days", `max="30"`,
		`<option value="ecdsa-p384" selected>`, `<option value="ed25519"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the request page does not show %q", want)
		}
	}
	if strings.Contains(page.body, `value="rsa-2048"`) {
		t.Error("the request page offers a key type the policy does not allow")
	}

	a := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"nas.home.lan\nvault.home.lan\nnas.example.com\n192.168.1.20"}, "key_type": {"ecdsa-p384"}})
	if a.status != http.StatusForbidden {
		t.Fatalf("a request outside the policy: %d, want 403", a.status)
	}
	for _, want := range []string{"Your policy does not allow these 2 names:", "<code>vault.<wbr>home.<wbr>lan</code> is denied by your policy (vault.home.lan).",
		"<code>nas.<wbr>example.<wbr>com</code> is not among the names your policy allows.", `aria-invalid="true"`, "<title>Error: "} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the refusal does not say %q", want)
		}
	}
	if strings.Contains(a.body, "<code>nas.<wbr>home.<wbr>lan</code> is") {
		t.Error("the refusal marks an allowed name")
	}
	a = b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"nas.home.lan"}, "key_type": {"rsa-2048"}})
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "Your policy does not allow keys of type rsa-2048.") {
		t.Errorf("a key type outside the policy: %d", a.status)
	}
	_, csr := newCSR(t, "nas.home.lan", "vault.home.lan")
	a = b.postMultipart("/certificates/new", map[string]string{"csrf": b.csrf, "mode": "csr", "csr": string(csr)}, "csr_file", "", nil)
	if a.status != http.StatusForbidden || !strings.Contains(a.body, "<code>vault.<wbr>home.<wbr>lan</code> is denied") || !strings.Contains(a.body, `id="csr-error"`) {
		t.Errorf("a CSR outside the policy: %d\n%s", a.status, a.body)
	}
	if n, err := e.db.CountAllCertificates(); err != nil || n != 0 {
		t.Fatalf("%d certificates after refusals (%v)", n, err)
	}

	a = b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"nas.home.lan\n192.168.1.20"}, "days": {"90"}, "key_type": {"ecdsa-p384"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("a request inside the policy: %d\n%s", a.status, a.body)
	}
	serial, _ := new(big.Int).SetString(strings.TrimPrefix(a.header.Get("Location"), "/certificates/"), 10)
	stored, err := e.db.Certificate(serial)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(stored.DER)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.NotAfter.Sub(c.NotBefore).Hours() / 24; d != 30 {
		t.Errorf("90 days asked under a maximum of 30: valid %v days", d)
	}
}

// TestPolicyPages: an admin sees each user's policy on the users page and
// changes one in two steps: the form, then a confirmation that shows it
// before and after (saying so when it lowers the CA's bar); only the
// confirmation changes it, and it applies to the user's next request. A
// bad rule shows the form again, naming it. Users who are not admins
// cannot reach the pages.
func TestPolicyPages(t *testing.T) {
	e := newEnvWith(t, func(c *config.Config) { c.Challenge.Required = true })
	adm := e.browser()
	adm.signIn("root")
	users := adm.get("/admin/users")
	if !strings.Contains(users.body, `href="/admin/users/alice/policy"`) || !strings.Contains(users.body, "CA limits") {
		t.Fatalf("the users page has no policy for alice")
	}
	form := adm.get("/admin/users/alice/policy")
	if form.status != 200 || !strings.Contains(form.body, `name="allow"`) || !strings.Contains(form.body, `value="default" checked`) {
		t.Fatalf("the policy form: %d", form.status)
	}
	change := url.Values{"csrf": {adm.csrf}, "allow": {"NAS.home.lan\n.lab.home.lan"}, "deny": {"vault.lab.home.lan"}, "max_days": {"30"},
		"key_types": {"ecdsa-p256", "ed25519"}, "challenge": {"optional"}}
	confirm := adm.post("/admin/users/alice/policy", change)
	if confirm.status != 200 {
		t.Fatalf("reviewing the change: %d\n%s", confirm.status, confirm.body)
	}
	for _, want := range []string{"Change the policy of alice?", "<code>nas.<wbr>home.<wbr>lan</code>", "A lower bar:", `name="confirm" value="yes"`,
		`name="allow" value="nas.home.lan, .lab.home.lan"`, `name="challenge" value="optional"`} {
		if !strings.Contains(confirm.body, want) {
			t.Errorf("the confirmation does not show %q", want)
		}
	}
	if u, _ := e.db.User("alice"); !u.Policy.IsZero() {
		t.Fatalf("reviewing changed the policy: %+v", u.Policy)
	}

	bad := adm.post("/admin/users/alice/policy", url.Values{"csrf": {adm.csrf}, "allow": {"nas.home.lan"}, "deny": {"10.0.0.0/33"}, "challenge": {"default"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "10.0.0.0/33") || !strings.Contains(bad.body, `id="deny" name="deny" rows="3" spellcheck="false" autocapitalize="off"
        aria-describedby="deny-hint form-error" aria-invalid="true"`) {
		t.Errorf("a bad rule: %d\n%s", bad.status, bad.body)
	}

	// The confirmation's own form, as the browser sends it.
	sent := url.Values{"csrf": {adm.csrf}}
	for _, m := range hiddenField.FindAllStringSubmatch(confirm.body, -1) {
		if m[1] != "csrf" {
			sent.Add(m[1], html.UnescapeString(m[2]))
		}
	}
	done := adm.post("/admin/users/alice/policy", sent)
	if done.status != http.StatusSeeOther || done.header.Get("Location") != "/admin/users" {
		t.Fatalf("confirming: %d\n%s", done.status, done.body)
	}
	u, err := e.db.User("alice")
	if err != nil || !slices.Equal(u.Policy.Allow, []string{"nas.home.lan", ".lab.home.lan"}) || !slices.Equal(u.Policy.Deny, []string{"vault.lab.home.lan"}) ||
		u.Policy.MaxDays != 30 || !slices.Equal(u.Policy.KeyTypes, []string{"ecdsa-p256", "ed25519"}) || u.Policy.Challenge != "optional" {
		t.Fatalf("after confirming: %+v, %v", u.Policy, err)
	}
	if lines := e.logs.Audit(t, "user.policy"); len(lines) != 1 || lines[0]["door"] != "web" || lines[0]["actor"] != "root" || lines[0]["skips_required_challenge"] != true {
		t.Errorf("audit lines: %v", lines)
	}

	// Alice's next request meets it: no proof, and only allowed names.
	alice := e.browser()
	alice.signIn("alice")
	if a := alice.post("/certificates/new", url.Values{"csrf": {alice.csrf}, "names": {"vault.lab.home.lan"}}); a.status != http.StatusForbidden {
		t.Errorf("a denied name after the change: %d", a.status)
	}
	if a := alice.post("/certificates/new", url.Values{"csrf": {alice.csrf}, "names": {"x.lab.home.lan"}}); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/certificates/") {
		t.Errorf("an allowed name, with the proof waived: %d %s", a.status, a.header.Get("Location"))
	}
	for _, path := range []string{"/admin/users/alice/policy", "/admin/users/root/policy"} {
		if a := alice.get(path); a.status != http.StatusNotFound {
			t.Errorf("GET %s as a user: %d, want 404", path, a.status)
		}
	}
	if a := alice.post("/admin/users/alice/policy", url.Values{"csrf": {alice.csrf}, "challenge": {"default"}, "confirm": {"yes"}}); a.status != http.StatusNotFound {
		t.Errorf("a user changing their own policy: %d, want 404", a.status)
	}
	if a := adm.get("/admin/users/nobody/policy"); a.status != http.StatusNotFound {
		t.Errorf("the policy of nobody: %d", a.status)
	}
	e.noTokens()
}
