package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Policy: an admin gives a user a policy from the users page,
// through the form and its confirmation; the user sees it on the request
// page, and a request outside it comes back with each refused name
// marked. Every page on the way passes axe and fits a phone.
func TestBrowser_Policy(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	srv := startDashboard(t, dir)
	dev := strings.TrimSpace(binary.Must(t, dir, "user", "add", "dev"))
	p := newPage(t, srv.URL)
	if code := p.signIn(srv.token); code != 200 {
		t.Fatalf("admin signs in: %d", code)
	}

	p.open("/admin/users")
	p.wantText(`tr:has(a[href="/admin/users/dev/policy"])`, "CA limits")
	if code := p.click(`a[href="/admin/users/dev/policy"]`); code != 200 {
		t.Fatalf("the policy form: %d", code)
	}
	p.wantText("h1", "Policy of dev")
	p.audit("policy form")

	// A bad rule: the form again, the field marked and focused.
	p.do(chromedp.SendKeys(chromedp.CSS("#deny"), "10.0.0.0/33"))
	if code := p.click(`form[action="/admin/users/dev/policy"] button[type=submit]`); code != http.StatusBadRequest {
		t.Fatalf("a bad rule: %d", code)
	}
	p.wantText("#form-error", "10.0.0.0/33")
	if focus, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focus != "deny" {
		t.Errorf("after a bad deny rule the focus is on %q", focus)
	}
	p.audit("policy form with an error")

	p.open("/admin/users/dev/policy")
	p.do(
		chromedp.SendKeys(chromedp.CSS("#allow"), ".lab.home.lan\n10.20.0.0/16"),
		chromedp.SendKeys(chromedp.CSS("#deny"), "vault.lab.home.lan"),
		chromedp.SendKeys(chromedp.CSS("#max_days"), "30"),
		chromedp.Click(chromedp.CSS("#kt-ecdsa-p256")),
		chromedp.Click(chromedp.CSS("#kt-ed25519")),
		chromedp.Click(chromedp.CSS("#ch-required")),
	)
	p.shot("admin-policy", true)
	if code := p.click(`form[action="/admin/users/dev/policy"] button[type=submit]`); code != 200 {
		t.Fatalf("reviewing the policy: %d", code)
	}
	p.wantText("h1", "Change the policy of dev?")
	p.wantText("table.compare", "vault.lab.home.lan")
	p.shot("admin-policy-confirm", true)
	p.audit("policy confirmation")
	if code := p.click(`form[action="/admin/users/dev/policy"] button[type=submit]`); code != 200 || p.path() != "/admin/users" {
		t.Fatalf("confirming: %d at %s", code, p.path())
	}
	p.wantText(".flash", "The policy of dev is changed")
	p.wantText(`tr:has(a[href="/admin/users/dev/policy"])`, "allow .lab.home.lan 10.20.0.0/16")
	p.audit("users, with policies")

	// Dev sees it, and is held to it.
	if code := p.click(`form[action="/signout"] button`); code != 200 {
		t.Fatalf("sign out: %d", code)
	}
	if code := p.signIn(dev); code != 200 {
		t.Fatalf("dev signs in: %d", code)
	}
	p.open("/certificates/new")
	p.wantText("details.policy", ".lab.home.lan")
	p.wantText("details.policy", "at most 30 days")
	if p.has(`#key_type option[value="rsa-2048"]`) {
		t.Error("the form offers a key type the policy does not allow")
	}
	p.audit("request form with a policy")
	p.do(chromedp.SendKeys(chromedp.CSS("#names"), "ci.lab.home.lan\nvault.lab.home.lan\nnas.example.com"))
	if code := p.click(`form[action="/certificates/new"]:not([enctype]) button[type=submit]`); code != http.StatusForbidden {
		t.Fatalf("names outside the policy: %d", code)
	}
	refused, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#form-error li code")].map(c => c.textContent)`))
	if err != nil || strings.Join(refused, "|") != "vault.lab.home.lan|nas.example.com" {
		t.Errorf("the refused names listed: %q (%v)", refused, err)
	}
	p.wantText("#form-error", "denied by your policy")
	p.shot("request-policy", true)
	p.audit("request refused by the policy")
	srv.Stop(t)
}
