package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/testdb"
	"certmaker/internal/testlog"
	"certmaker/inventory"
	"certmaker/store"
)

// testApp is the whole application over a real bbolt file behind
// httptest, with its log in logs.
type testApp struct {
	*app.App
	url  string
	dir  string
	db   *store.DB
	logs *testlog.Buffer
}

// startApp builds and serves the application; set changes the config.
func startApp(t *testing.T, o app.Options, set func(*config.Config)) *testApp {
	t.Helper()
	logs := &testlog.Buffer{}
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	dir := t.TempDir()
	db, err := testdb.Open(filepath.Join(dir, "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := config.Default()
	cfg.Server.PublicURL = ts.URL
	set(&cfg)
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	a, err := app.New(cfg, db, o)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = a
	return &testApp{App: a, url: ts.URL, dir: dir, db: db, logs: logs}
}

// apiDo sends an API request with token and returns the status and body.
func (a *testApp) apiDo(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	r := mustRequest(t, method, a.url+path, strings.NewReader(body))
	r.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// browser is a signed-in dashboard session that follows no redirect.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// signIn signs in to the dashboard at base with token, as a browser would.
func signIn(t *testing.T, base, token string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if st := b.post("/signin", "/signin", url.Values{"token": {token}}); st != http.StatusSeeOther {
		t.Fatalf("signing in: %d", st)
	}
	return b
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// post sends form, with the form token of the page at formPage, from this
// origin; it returns the status.
func (b *browser) post(formPage, path string, form url.Values) int {
	b.t.Helper()
	_, page := b.get(formPage)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no form token on %s", formPage)
	}
	form.Set("csrf", m[1])
	r := mustRequest(b.t, "POST", b.base+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Origin", b.base)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return do(b.t, b.c, r).StatusCode
}

// TestOwnerRule_NamesAreCaseSensitive: user names are case-sensitive
// everywhere: Alice is another user than alice, and cannot read, take the
// key of, or revoke alice's certificates through any door, nor see them
// listed; the operator's listing for Alice holds none of them.
func TestOwnerRule_NamesAreCaseSensitive(t *testing.T) {
	a := startApp(t, app.Options{}, func(*config.Config) {})
	ctx := context.Background()
	alice, err := a.Operator.AddUser(ctx, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	impostor, err := a.Operator.AddUser(ctx, "Alice", false)
	if err != nil {
		t.Fatalf("Alice is refused as a second user beside alice: %v", err)
	}
	st, body := a.apiDo(t, "POST", "/api/certificate/request", alice, `{"domains":["mine.home.lan"]}`)
	if st != 200 {
		t.Fatalf("alice's request: %d %s", st, body)
	}
	id := strings.TrimSpace(body)
	if st, _ := a.apiDo(t, "GET", "/api/certificate/"+id+"/obtain", alice, ""); st != 200 {
		t.Fatalf("alice cannot read her own certificate (%d): the refusals below prove nothing", st)
	}

	// The API.
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/certificate/" + id + "/obtain"},
		{"GET", "/api/certificate/" + id},
		{"GET", "/api/privatekey/" + id + "/obtain"},
		{"POST", "/api/certificate/" + id + "/revoke"},
	} {
		if st, _ := a.apiDo(t, c.method, c.path, impostor, ""); st != 404 {
			t.Errorf("API %s %s as Alice: %d, want 404", c.method, c.path, st)
		}
	}
	if _, list := a.apiDo(t, "GET", "/api/certificates", impostor, ""); strings.Contains(list, id) {
		t.Error("API: Alice's listing holds alice's certificate")
	}

	// The dashboard.
	b := signIn(t, a.url, impostor)
	for _, p := range []string{"/certificates/" + id, "/certificates/" + id + "/certificate.pem", "/certificates/" + id + "/key.pem", "/certificates/" + id + "/revoke"} {
		if st, _ := b.get(p); st != 404 {
			t.Errorf("dashboard GET %s as Alice: %d, want 404", p, st)
		}
	}
	if st := b.post("/certificates", "/certificates/"+id+"/revoke", url.Values{"reason": {"keyCompromise"}}); st != 404 {
		t.Errorf("dashboard revoke as Alice: %d, want 404", st)
	}
	if _, list := b.get("/certificates"); strings.Contains(list, id) {
		t.Error("dashboard: Alice's list shows alice's certificate")
	}

	// The operator, listing by owner.
	page, err := a.Operator.Certificates(ctx, inventory.Query{Owner: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Certificates) != 0 {
		t.Errorf("the operator's listing for Alice holds %d certificates", len(page.Certificates))
	}

	// An ACME account acts for its user: the core's owner rule with the
	// actor the ACME door makes for an account of Alice.
	serial, err := ca.ParseSerial(id)
	if err != nil {
		t.Fatal(err)
	}
	acme := core.Actor{Door: core.DoorACME, User: "Alice", Account: "acct-of-Alice"}
	if _, err := a.Core.Certificate(ctx, acme, serial); core.KindOf(err) != core.NotFound {
		t.Errorf("an ACME account of Alice reads alice's certificate: %v", err)
	}
	if _, err := a.Core.PrivateKeyPEM(ctx, acme, serial); core.KindOf(err) != core.NotFound {
		t.Errorf("an ACME account of Alice takes alice's key: %v", err)
	}
	if _, err := a.Core.Revoke(ctx, acme, core.Revocation{Serial: serial, Reason: 1}); core.KindOf(err) != core.NotFound {
		t.Errorf("an ACME account of Alice revokes alice's certificate: %v", err)
	}
	if _, err := a.Core.Certificate(ctx, core.Actor{Door: core.DoorACME, User: "alice", Account: "acct-of-alice"}, serial); err != nil {
		t.Errorf("an ACME account of alice cannot read her certificate: %v", err)
	}

	if c, err := a.db.Certificate(serial); err != nil || c.Revoked {
		t.Errorf("alice's certificate was revoked by someone else (%v)", err)
	}
}
