package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"certmaker/ca"
)

// The dashboard tests drive the real binary in headless Chromium, as a
// person would: sign in, request, download, revoke, administer, and the
// attacks that must fail. With CERTMAKER_SCREENSHOTS=1 they also write the
// screenshots of docs/dashboard.md into docs/screenshots.

func TestBrowser_Dashboard(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	srv := startDashboard(t, dir)
	p := newPage(t, srv.URL)

	// A wrong token is refused, and the page does not echo it.
	if code := p.signIn("not-a-token-" + strings.Repeat("x", 31)); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d, want 401", code)
	}
	p.wantText(".error", "That token is not valid.")
	if html, _ := chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, "not-a-token") {
		t.Error("the sign-in page shows the token that was typed")
	}
	p.shot("signin", false)
	p.audit("sign in, wrong token")

	// The admin signs in; the cookie is a session, not the token.
	if code := p.signIn(srv.token); code != 200 || p.path() != "/certificates" {
		t.Fatalf("sign in: status %d at %s", code, p.path())
	}
	var session *network.Cookie
	for _, c := range p.cookies() {
		if c.Name == "certmaker_session" {
			session = c
		}
		if strings.Contains(c.Value, srv.token) {
			t.Errorf("cookie %s holds the token", c.Name)
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Session {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, expiring", session)
	}
	p.wantText("h1", "Your certificates")
	// The first run: first steps, not filters over nothing.
	p.wantText(".first-run", "Trust this CA's root")
	if !p.has(`.first-run a[href="/trust"]`) || !p.has(`.first-run a[href="/certificates/new"]`) || p.has("form.filters") {
		t.Error("the first run does not lead to /trust and the request form, or shows filters")
	}
	p.wantText(".first-run", "/acme/directory")
	p.shot("first-run", true)
	p.audit("first run")

	// Request a certificate from the form.
	if code := p.open("/certificates/new"); code != 200 {
		t.Fatalf("request form: %d", code)
	}
	p.shot("request", true)
	p.audit("request form")

	// Three bad names among good ones: each is named, in words, the title
	// says there is an error and the focus is on the field.
	p.do(chromedp.SendKeys(chromedp.CSS("#names"), "ok.home.lan\nname!\nbad name, -x.home.lan"))
	if code := p.click(`form[action="/certificates/new"]:not([enctype]) button[type=submit]`); code != http.StatusBadRequest {
		t.Fatalf("three bad names: status %d", code)
	}
	bad, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#form-error li code")].map(c => c.textContent)`))
	if err != nil || strings.Join(bad, "|") != "name!|bad name|-x.home.lan" {
		t.Errorf("the bad names listed: %q (%v), want all three", bad, err)
	}
	p.wantText("#form-error", "These 3 names cannot be used")
	p.wantText("#form-error", "has a space in it")
	if html, _ := chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS("#form-error"))); strings.Contains(html, "invalid request") {
		t.Errorf("the error reads like the API: %s", html)
	}
	state, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.title + "|" + document.activeElement.id`))
	if !strings.HasPrefix(state, "Error: ") || !strings.HasSuffix(state, "|names") {
		t.Errorf("after the error: title|focus %q, want an error title and the names field", state)
	}
	p.shot("request-error", true)
	p.audit("request with bad names")
	p.open("/certificates/new")
	p.do(
		chromedp.SendKeys(chromedp.CSS("#names"), "nas.home.lan\n192.168.1.20, files.home.lan"),
		chromedp.SendKeys(chromedp.CSS("#days"), "30"),
		chromedp.SetValue(chromedp.CSS("#key_type"), "ecdsa-p384"),
	)
	if code := p.click(`button[type=submit][data-busy]`); code != 200 {
		t.Fatalf("request: status %d", code)
	}
	m := idPath.FindStringSubmatch(p.path())
	if m == nil {
		t.Fatalf("after the request the browser is at %s, want a certificate's page", p.path())
	}
	id := m[1]
	p.wantText(".flash", "Certificate issued")
	p.wantText(".badge", "Valid")
	p.wantText(".details", "ecdsa-p384")

	// Download the certificate, its key and the root, and check them.
	name, certPEM := p.download(`a[href$="/certificate.pem"]`)
	if name != "nas.home.lan.crt" {
		t.Errorf("certificate downloads as %q", name)
	}
	_, keyPEM := p.download(`a[href$="/key.pem"]`)
	_, rootPEM := p.download(`a[href$="/root.pem"]`)
	leaf := verifyChain(t, certPEM, rootPEM, "files.home.lan")
	if got := leaf.NotAfter.Sub(leaf.NotBefore).Round(time.Hour); got != 30*24*time.Hour {
		t.Errorf("certificate valid for %v, want 30 days", got)
	}
	checkKeyMatches(t, keyPEM, leaf)
	if _, _, api := srv.do(t, "GET", "/api/root-certificate/obtain", srv.token, ""); api != string(rootPEM) {
		t.Error("the dashboard's root differs from the API's")
	}
	p.shot("certificate", true)
	p.audit("certificate")

	// A CSR, uploaded as a file: the certificate carries the CSR's key,
	// and there is no key to download.
	csrKey, csrPEM := makeCSR(t, "upload.home.lan")
	csrFile := filepath.Join(t.TempDir(), "upload.csr")
	if err := os.WriteFile(csrFile, csrPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	p.open("/certificates/new")
	p.do(chromedp.SetUploadFiles(chromedp.CSS("#csr_file"), []string{csrFile}), chromedp.SendKeys(chromedp.CSS("#csr_days"), "30"))
	if code := p.click(`form[enctype] button[type=submit]`); code != 200 || idPath.FindStringSubmatch(p.path()) == nil {
		t.Fatalf("request with a CSR file: status %d at %s", code, p.path())
	}
	p.wantText(".flash", "key in your CSR")
	if p.has(`a[href$="/key.pem"]`) {
		t.Error("a certificate from a CSR offers a private key")
	}
	_, csrCertPEM := p.download(`a[href$="/certificate.pem"]`)
	csrLeaf := verifyChain(t, csrCertPEM, rootPEM, "upload.home.lan")
	if !csrKey.PublicKey.Equal(csrLeaf.PublicKey) {
		t.Error("the certificate from the CSR does not carry the CSR's key")
	}

	// A few more, through the API, for a list worth looking at.
	for _, body := range []string{
		`{"domains":["grafana.home.lan"],"days":90,"key_type":"rsa-2048"}`,
		`{"domains":["printer.home.lan"],"ips":["192.168.1.30"],"days":7}`,
		`{"domains":["*.lab.home.lan"],"days":180,"key_type":"ed25519"}`,
	} {
		if code, _, b := srv.do(t, "POST", "/api/certificate/request", srv.token, body); code != 200 {
			t.Fatalf("request %s: %d %s", body, code, b)
		}
	}

	// It is in the list, with its expiry in words.
	p.open("/certificates")
	row := fmt.Sprintf(`tr:has(a[href="/certificates/%s"])`, id)
	p.wantText(row, "nas.home.lan")
	p.wantText(row, "expires in 30 days")
	p.wantText(row, "Valid")

	// Revoke it, through the confirmation step.
	p.open("/certificates/" + id)
	if code := p.click(`a[href$="/revoke"]`); code != 200 || !p.has(`form[action$="/revoke"] button.danger`) {
		t.Fatalf("revoke confirmation: status %d at %s", code, p.path())
	}
	p.wantText("h1", "Revoke nas.home.lan?")
	p.audit("revoke")
	p.do(chromedp.SetValue(chromedp.CSS("#reason"), "keyCompromise"))
	p.shot("revoke", false)
	if code := p.click(`form[action$="/revoke"] button[type=submit]`); code != 200 || p.path() != "/certificates/"+id {
		t.Fatalf("revoke: status %d at %s", code, p.path())
	}
	p.wantText(".flash", "Certificate revoked (keyCompromise)")
	p.wantText(".badge", "Revoked")
	if p.has(`a[href$="/revoke"]`) {
		t.Error("a revoked certificate still offers to revoke it")
	}
	var desc struct{ Status, RevocationReason string }
	_, _, body := srv.do(t, "GET", "/api/certificate/"+id, srv.token, "")
	if err := json.Unmarshal([]byte(body), &desc); err != nil || desc.Status != "revoked" {
		t.Fatalf("the API says %s", body)
	}
	p.open("/certificates")
	p.wantText(row, "Revoked")
	p.shot("certificates", true)
	p.audit("certificates")

	// Filter and search.
	p.open("/certificates?status=revoked")
	if !p.has(row) || p.has(`tr:has(a[href^="/certificates/"]):not(.revoked)`) {
		t.Error("status=revoked lists more or less than the revoked certificate")
	}
	p.open("/certificates")
	p.do(chromedp.SendKeys(chromedp.CSS("#q"), "grafana"))
	p.click(`form.filters button[type=submit]`)
	if got := p.text("tbody"); !strings.Contains(got, "grafana.home.lan") || strings.Contains(got, "nas.home.lan") {
		t.Errorf("search for grafana lists %q", got)
	}

	// Admin: the status summary and the users.
	if code := p.open("/admin"); code != 200 {
		t.Fatalf("admin status: %d", code)
	}
	p.wantText(".stats", "5")
	p.wantText(".roots", "Active")
	p.shot("admin-status", true)
	p.audit("admin status, with the expiry timeline")
	p.open("/admin/users")
	p.do(chromedp.SendKeys(chromedp.CSS("#name"), "bob"))
	if code := p.click(`form[action="/admin/users"] button[type=submit]`); code != 200 {
		t.Fatalf("create user: %d", code)
	}
	bob := strings.TrimSpace(p.text("#new-token"))
	if code, _, _ := srv.do(t, "GET", "/api/root-certificate/obtain", bob, ""); code != 200 {
		t.Fatalf("the token shown for bob does not work: %d", code)
	}
	p.open("/admin/users")
	if strings.Contains(p.text("main"), bob) {
		t.Error("the new token is shown again")
	}
	p.do(chromedp.SendKeys(chromedp.CSS("#name"), "carol"))
	p.click(`form[action="/admin/users"] button[type=submit]`)
	carol := strings.TrimSpace(p.text("#new-token"))
	p.shot("admin-users", true)
	p.audit("users")
	p.wantText(`tr:has(a[href="/admin/users/bob/disable"])`, "0")
	if labels, _ := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('td[data-label="Certificates"] a')].map(a => a.getAttribute("aria-label"))`)); strings.Join(labels, "|") != "5 certificates of admin|0 certificates of bob|0 certificates of carol" {
		t.Errorf("count labels %q", labels)
	}
	// Disable asks first.
	if code := p.click(`a[href="/admin/users/bob/disable"]`); code != 200 {
		t.Fatalf("disable bob: %d", code)
	}
	p.wantText("h1", "Disable bob?")
	if code, _, _ := srv.do(t, "GET", "/api/root-certificate/obtain", bob, ""); code != 200 {
		t.Fatal("bob was disabled before the confirmation")
	}
	p.audit("disable confirmation")
	if code := p.click(`form[action="/admin/users/bob/disable"] button`); code != 200 {
		t.Fatalf("confirm disabling bob: %d", code)
	}
	p.wantText(".flash", "User bob disabled")
	p.wantText(`tr:has(form[action="/admin/users/bob/enable"])`, "Disabled")
	if code, _, _ := srv.do(t, "GET", "/api/root-certificate/obtain", bob, ""); code != 401 {
		t.Fatalf("disabled bob's token: %d, want 401", code)
	}

	p.open("/admin/rotate-root")
	p.audit("rotate confirmation")
	if code := p.open("/no/such/page"); code != http.StatusNotFound {
		t.Errorf("a missing page: %d", code)
	}
	p.audit("not found")
	p.open("/admin/users")

	// A forged post from this very page, without the CSRF token: refused.
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "/admin/users/bob/enable";
		document.body.appendChild(f); f.submit();
	})()`))
	if err != nil || resp.Status != http.StatusForbidden {
		t.Fatalf("post without CSRF token: %v %v, want 403", resp, err)
	}
	p.wantText("h1", "Refused")

	// A forged post from another origin, with the right form and a guessed
	// token: refused before the token is even looked at.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form method="post" action="%s/admin/users/bob/enable"><input name="csrf" value="guess"><button id="go">win a prize</button></form>`, srv.URL)
	}))
	defer evil.Close()
	p.do(chromedp.Navigate(evil.URL))
	if code := p.click("#go"); code != http.StatusForbidden {
		t.Fatalf("cross-origin post: status %d, want 403", code)
	}
	if code, _, _ := srv.do(t, "GET", "/api/root-certificate/obtain", bob, ""); code != 401 {
		t.Fatal("a forged post enabled bob")
	}

	// Sign out; the session is gone, also for a copy of the cookie.
	p.open("/certificates")
	old := p.cookies()
	if code := p.click(`form[action="/signout"] button`); code != 200 || !strings.HasPrefix(p.path(), "/signin") {
		t.Fatalf("sign out: %d at %s", code, p.path())
	}
	p.wantText(".flash", "signed out")
	if p.open("/certificates"); !strings.HasPrefix(p.path(), "/signin") {
		t.Fatalf("after signing out /certificates shows %s", p.path())
	}
	req, _ := http.NewRequest("GET", srv.URL+"/certificates", nil)
	for _, c := range old {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r, err := noRedirect.Do(req); err != nil || r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the old session cookie still works: %v %v", r.Status, err)
	}

	// A user who is not an admin: no admin pages, not even their names.
	if code := p.signIn(carol); code != 200 {
		t.Fatalf("carol signs in: %d", code)
	}
	if p.has(`a[href="/admin"]`) {
		t.Error("a user sees the Admin link")
	}
	for _, path := range []string{"/admin", "/admin/users", "/admin/rotate-root"} {
		if code := p.open(path); code != http.StatusNotFound {
			t.Errorf("%s for a user: %d, want 404", path, code)
		}
	}
	if code := p.open("/certificates/" + id); code != http.StatusNotFound {
		t.Errorf("another user's certificate: %d, want 404", code)
	}
	// A page that does not exist: signed in, not a sign-in link.
	if code := p.open("/no/such/page"); code != http.StatusNotFound || p.has(`a[href="/signin"]`) || !p.has(`main a[href="/certificates"]`) {
		t.Errorf("a signed-in user's 404: %d, offers to sign in %v, back to the certificates %v", code, p.has(`a[href="/signin"]`), p.has(`main a[href="/certificates"]`))
	}

	// No token reached the server's log (the admin's is printed once, at
	// the first start, by design).
	logged := srv.Stop(t)
	if strings.Contains(logged, bob) || strings.Contains(logged, carol) || strings.Count(logged, srv.token) != 1 {
		t.Error("a token is in the server's log")
	}
}

// TestBrowser_Challenge walks a challenge as a person would: the request
// is listed while it waits and opens again from the list, a failed check
// shows every name's result, and fixing the one that failed issues.
func TestBrowser_Challenge(t *testing.T) {
	chromiumPath(t)
	// A port free on 127.0.0.2 and 127.0.0.3, where nothing listens yet.
	var port int
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("no 127.0.0.2 on this machine: %v", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		if l3, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", port)); err == nil {
			l3.Close()
			break
		}
	}

	dir := t.TempDir()
	// The free port is above 1023: allow it, as an operator would.
	conf := fmt.Sprintf("[challenge]\nrequired = true\ntimeout = \"2s\"\nallowed_ports = [80, %d]\n", port)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startDashboard(t, dir)
	p := newPage(t, srv.URL)
	if code := p.signIn(srv.token); code != 200 {
		t.Fatalf("sign in: %d", code)
	}

	p.open("/certificates/new")
	p.do(chromedp.SendKeys(chromedp.CSS("#names"), "127.0.0.3\n127.0.0.2\nlocalhost"))
	if code := p.click(`button[data-busy]`); code != 200 || !strings.HasPrefix(p.path(), "/challenges/") {
		t.Fatalf("request with challenges on: %d at %s", code, p.path())
	}
	challengePath := p.path()
	token := strings.TrimSpace(p.text("#token"))
	if len(token) < 20 {
		t.Fatalf("challenge token %q", token)
	}
	p.wantText(".urls", "http://127.0.0.2:80/.well-known/certmaker-challenge/token.txt")
	p.wantText("main", "Not checked: localhost")
	p.wantText("main", "nobody can prove")
	p.wantText("#shell", "echo "+token)
	if !p.has(`button[data-copy="shell"]:not([hidden])`) || !p.has(`button[data-copy="token"]:not([hidden])`) {
		t.Error("no Copy buttons for the token and the commands")
	}
	p.audit("challenge")

	// Left and found again: the list shows it waiting, with its age.
	p.open("/certificates")
	p.wantText(".pending", "127.0.0.3")
	p.wantText(".pending", "just now")
	if p.has("form.filters") {
		t.Error("filters over no certificates")
	}
	p.wantText(".pending", "expires in")
	p.shot("pending", true)
	p.audit("certificates with a pending request")
	if code := p.click(fmt.Sprintf(`.pending a[href=%q]`, challengePath)); code != 200 || p.path() != challengePath {
		t.Fatalf("the pending request from the list: %d at %s", code, p.path())
	}

	// Typing the port updates the URLs (app.js); nothing is served: both
	// names fail, each with its reason, in the request's (normalized)
	// order: DNS names, then IP addresses.
	p.do(chromedp.Clear(chromedp.CSS("#port")), chromedp.SendKeys(chromedp.CSS("#port"), fmt.Sprint(port)))
	want := fmt.Sprintf("http://127.0.0.2:%d/.well-known/certmaker-challenge/token.txt", port)
	p.wantText(".urls", want)
	check := func() int64 {
		t.Helper()
		return p.click(`form[action$="/check"] button`)
	}
	results := func() string {
		t.Helper()
		rows, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".results tbody tr")].map(tr =>
			tr.querySelector("td").textContent.trim() + " " + tr.className + " " + tr.querySelector("td:last-child .badge").textContent.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, "; ")
	}
	if code := check(); code != http.StatusUnprocessableEntity {
		t.Fatalf("check with nothing served: %d, want 422", code)
	}
	if got, want := results(), "localhost exempt – Not checked; 127.0.0.3 failed ✕ Failed: connection refused; 127.0.0.2 failed ✕ Failed: connection refused"; got != want {
		t.Errorf("results:\n got %s\nwant %s", got, want)
	}
	p.wantText(".error", "The check failed for 2 names of 3")
	p.wantText(".results", "Nothing listens on port")
	p.wantText(".urls", want) // the port tried stays

	// Serve the token on 127.0.0.2 only: it passes, 127.0.0.3 still fails.
	serve := func(ip string) {
		t.Helper()
		l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
		if err != nil {
			t.Fatal(err)
		}
		site := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/.well-known/certmaker-challenge/token.txt" {
				fmt.Fprintln(w, token)
				return
			}
			http.NotFound(w, r)
		})}
		go site.Serve(l)
		t.Cleanup(func() { site.Close() })
	}
	serve("127.0.0.2")
	if code := check(); code != http.StatusUnprocessableEntity {
		t.Fatalf("check with one name served: %d, want 422", code)
	}
	if got, want := results(), "localhost exempt – Not checked; 127.0.0.3 failed ✕ Failed: connection refused; 127.0.0.2 ok ✓ Answered with the token"; got != want {
		t.Errorf("results:\n got %s\nwant %s", got, want)
	}
	p.wantText(".error", "The check failed for 1 name of 3")
	if title, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.title + "|" + document.activeElement.id`)); !strings.HasPrefix(title, "Error: ") || !strings.HasSuffix(title, "|check-error") {
		t.Errorf("after a failed check: title|focus %q", title)
	}
	p.shot("challenge", true)
	p.audit("challenge after a failed check")

	// Serve it on 127.0.0.3 too and check again: issued.
	serve("127.0.0.3")
	if code := check(); code != 200 || idPath.FindStringSubmatch(p.path()) == nil {
		t.Fatalf("check with the token served: %d at %s", code, p.path())
	}
	p.wantText(".flash", "certificate is issued")
	p.wantText(".details", "127.0.0.2")
	p.wantText(".details", "127.0.0.3")
	p.open("/certificates")
	if p.has(".pending") {
		t.Error("a solved request is still listed as waiting")
	}
}

// TestBrowser_Trust opens the public trust page without signing in, as a
// phone would: its downloads are the root `root export` prints, the Apple
// profile carries that root, the QR code says the page's URL, and after a
// rotation both roots are there, the new one first.
func TestBrowser_Trust(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	srv := startDashboard(t, dir)
	p := newPage(t, srv.URL)

	rootPEM := []byte(binary.Must(t, dir, "root", "export"))
	blk, _ := pem.Decode(rootPEM)
	if blk == nil {
		t.Fatalf("root export printed %q", rootPEM)
	}
	root, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(root.Raw)
	fp := hex.EncodeToString(sum[:])

	if code := p.open("/trust"); code != 200 {
		t.Fatalf("/trust without a session: %d", code)
	}
	p.wantText("h1", "Trust this CA")
	active := ".trust-root.active"
	p.wantText(active, root.Subject.CommonName)
	p.wantText(active, "Active")
	p.wantText(active+" .fingerprint", strings.ToUpper(fp[:2]+":"+fp[2:4]))
	if got := strings.ReplaceAll(strings.ToLower(p.text(active+" .fingerprint")), ":", ""); got != fp {
		t.Errorf("fingerprint shown %s, want %s", got, fp)
	}
	p.wantText(active, root.NotAfter.UTC().Format("2006-01-02"))
	p.wantText(active, "No name constraints")
	p.audit("trust, public")
	for _, want := range []string{"VPN & Device Management", "Certificate Trust Settings", "certutil -addstore -f Root certmaker-root.crt",
		"update-ca-certificates", "trust anchor", "ImportEnterpriseRoots", "Certificates"} {
		p.wantText("main", want)
	}
	p.shot("trust", true)

	// The QR code, as drawn on the page and as served, says the URL.
	shot, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS("#qr")))
	if err != nil {
		t.Fatal(err)
	}
	if got := zbar(t, shot); got != srv.URL+"/trust" {
		t.Errorf("the QR code on the page says %q, want %q", got, srv.URL+"/trust")
	}
	_, _, qrPNG := srv.do(t, "GET", "/trust/qr.png", "", "")
	if got := zbar(t, []byte(qrPNG)); got != srv.URL+"/trust" {
		t.Errorf("/trust/qr.png says %q", got)
	}

	// The downloads are the root.
	name, der := p.download(active + ` a[href="/trust/root.crt"]`)
	if name != "certmaker-root.crt" || !bytes.Equal(der, root.Raw) {
		t.Errorf("DER download %q differs from root export", name)
	}
	name, pemFile := p.download(active + ` a[href="/trust/root.pem"]`)
	if name != "certmaker-root.pem" || !bytes.Equal(pemFile, rootPEM) {
		t.Errorf("PEM download %q differs from root export:\n%s", name, pemFile)
	}
	name, profile := p.download(active + ` a[href="/trust/certmaker.mobileconfig"]`)
	if name != "certmaker.mobileconfig" {
		t.Errorf("profile downloads as %q", name)
	}
	checkProfile(t, profile, root.Raw)
	if code, h, _ := srv.do(t, "GET", "/trust/certmaker.mobileconfig", "", ""); code != 200 || h.Get("Content-Type") != "application/x-apple-aspen-config" {
		t.Errorf("profile: %d %s", code, h.Get("Content-Type"))
	}

	// Signed in, the dashboard links to it.
	if code := p.signIn(srv.token); code != 200 {
		t.Fatalf("sign in: %d", code)
	}
	if code := p.click(`nav a[href="/trust"]`); code != 200 || p.path() != "/trust" {
		t.Fatalf("the Trust link: %d at %s", code, p.path())
	}

	// After a rotation: the new root first, the old one still there with
	// its own downloads.
	// rotate-root prints it as the page shows it; URLs hold it in hex.
	shown := strings.TrimSpace(binary.Must(t, dir, "rotate-root"))
	newFP := strings.ToLower(strings.ReplaceAll(shown, ":", ""))
	p.open("/trust")
	if got := p.text(".trust-root:first-of-type .fingerprint"); got != shown {
		t.Errorf("first root on the page %s, want the new %s", got, newFP)
	}
	old := fmt.Sprintf(`.trust-root:not(.active):has(a[href="/trust/%s/root.pem"])`, fp)
	p.wantText(old, "Retired")
	_, oldPEM := p.download(old + ` a[href$="/root.pem"]`)
	if !bytes.Equal(oldPEM, rootPEM) {
		t.Error("the old root's PEM download differs from the old root")
	}
	_, oldProfile := p.download(old + ` a[href$="/certmaker.mobileconfig"]`)
	checkProfile(t, oldProfile, root.Raw)
	if code, _, body := srv.do(t, "GET", "/trust/root.crt", "", ""); code != 200 || ca.Fingerprint([]byte(body)) != newFP {
		t.Errorf("/trust/root.crt after the rotation: %d, not the new root", code)
	}
	if code, _, _ := srv.do(t, "GET", "/trust/"+strings.Repeat("0", 64)+"/root.pem", "", ""); code != http.StatusNotFound {
		t.Errorf("an unknown root: %d, want 404", code)
	}
	p.shot("trust-rotated", false)
	if !p.has(old + ` .badge.old .icon`) {
		t.Error("the Retired badge has no icon")
	}
	p.audit("trust, after a rotation")
	p.open("/admin")
	if !p.has(`.roots .badge.old .icon`) {
		t.Error("the Retired badge on the status page has no icon")
	}
	p.audit("admin status, two roots")
}

// checkProfile parses an Apple configuration profile and checks that it
// installs exactly der as a root.
func checkProfile(t *testing.T, profile, der []byte) {
	t.Helper()
	top, ok := plistValue(t, profile).(map[string]any)
	if !ok || top["PayloadType"] != "Configuration" || top["PayloadVersion"] != int64(1) {
		t.Fatalf("profile top level: %v", top)
	}
	payloads, _ := top["PayloadContent"].([]any)
	if len(payloads) != 1 {
		t.Fatalf("profile has %d payloads, want 1", len(payloads))
	}
	pl, _ := payloads[0].(map[string]any)
	if pl["PayloadType"] != "com.apple.security.root" {
		t.Errorf("payload type %v", pl["PayloadType"])
	}
	if got, _ := pl["PayloadContent"].([]byte); !bytes.Equal(got, der) {
		t.Error("the profile's payload is not the root's DER")
	}
	for _, k := range []string{"PayloadUUID", "PayloadIdentifier"} {
		if s, _ := pl[k].(string); s == "" || top[k] == "" || top[k] == pl[k] {
			t.Errorf("%s: profile %v, payload %v", k, top[k], pl[k])
		}
	}
}

// TestBrowser_Timeline checks the expiry chart against the store: its bars
// add up to every certificate, and each bar's link lists exactly its own.
func TestBrowser_Timeline(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	srv := startDashboard(t, dir)
	bob := strings.TrimSpace(binary.Must(t, dir, "user", "add", "bob"))
	issue := func(token string, days int, name string) string {
		t.Helper()
		code, _, id := srv.do(t, "POST", "/api/certificate/request", token, fmt.Sprintf(`{"domains":[%q],"days":%d}`, name, days))
		if code != 200 {
			t.Fatalf("request: %d %s", code, id)
		}
		return strings.TrimSpace(id)
	}
	all := map[string]bool{}
	for i, days := range []int{1, 3, 10, 10, 30, 60, 90, 182} {
		all[issue(srv.token, days, fmt.Sprintf("a%d.home.lan", i))] = true
	}
	bobs := map[string]bool{}
	for i, days := range []int{2, 10, 45} {
		id := issue(bob, days, fmt.Sprintf("b%d.home.lan", i))
		all[id], bobs[id] = true, true
	}
	revoked := issue(srv.token, 30, "gone.home.lan")
	all[revoked] = true
	if code, _, b := srv.do(t, "POST", "/api/certificate/"+revoked+"/revoke", srv.token, ""); code != 200 {
		t.Fatalf("revoke: %d %s", code, b)
	}

	p := newPage(t, srv.URL)
	if code := p.signIn(srv.token); code != 200 {
		t.Fatalf("sign in: %d", code)
	}
	p.open("/admin")
	p.shot("timeline", true)
	checkTimeline(t, p, all, revoked)
	p.open("/admin")
	p.checkWidth("the expiry chart at 1280 px")
	// On a phone the chart fits the screen, every label whole, and its
	// bars (rows there) link as the columns do.
	for _, w := range []int64{320, 390} {
		p.do(chromedp.EmulateViewport(w, 700, chromedp.EmulateMobile))
		p.open("/admin")
		p.settle()
		p.checkWidth(fmt.Sprintf("the expiry chart at %d px", w))
	}
	checkTimeline(t, p, all, revoked)
	p.do(chromedp.EmulateViewport(1280, 800))

	// Bob sees his own.
	p2 := newPage(t, srv.URL)
	if code := p2.signIn(bob); code != 200 {
		t.Fatalf("bob signs in: %d", code)
	}
	p2.open("/certificates")
	checkTimeline(t, p2, bobs, "")

	// A bad date is refused with a reason.
	if code := p2.open("/certificates?expires_from=soon"); code != http.StatusBadRequest {
		t.Errorf("expires_from=soon: %d, want 400", code)
	}
	p2.wantText(".error", "expires_from")
}

// checkTimeline reads the chart on the page: the table's counts add up to
// want, every bar with certificates links to a list of exactly them, and
// together the lists hold each certificate once.
func checkTimeline(t *testing.T, p *page, want map[string]bool, revoked string) {
	t.Helper()
	type barLink struct {
		Href  string
		Count string
		Label string
	}
	// The chart the screen shows: columns, or rows on a phone.
	bars, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]barLink](`[...document.querySelectorAll(".timeline svg a")].filter(a => a.getClientRects().length).map(a =>
		({Href: a.getAttribute("href"), Count: a.dataset.count, Label: a.getAttribute("aria-label")}))`))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".tl-table tbody td:last-child")].map(td => td.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range rows {
		n, err := strconv.Atoi(r)
		if err != nil {
			t.Fatalf("table cell %q", r)
		}
		total += n
	}
	if total != len(want) || len(rows) != 29 {
		t.Fatalf("the chart's %d rows add up to %d, want %d certificates", len(rows), total, len(want))
	}
	seen := map[string]bool{}
	for _, b := range bars {
		p.open(b.Href)
		ids, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tbody tr td:first-child a[href^='/certificates/']")].map(a => a.getAttribute("href").split("/")[2])`))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(len(ids)) != b.Count {
			t.Errorf("bar %q (%s) lists %d certificates at %s", b.Label, b.Count, len(ids), b.Href)
		}
		for _, id := range ids {
			if !want[id] || seen[id] {
				t.Errorf("bar %q lists %s: not one of the chart's, or in two bars", b.Label, id)
			}
			seen[id] = true
		}
		if strings.HasPrefix(b.Label, "Revoked") && (len(ids) != 1 || ids[0] != revoked) {
			t.Errorf("the revoked bar lists %v, want %s", ids, revoked)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the bars' lists hold %d certificates, want %d", len(seen), len(want))
	}
}
