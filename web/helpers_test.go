package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/config"
	"certmaker/internal/testdb"
	"certmaker/internal/testlog"
	"certmaker/store"
)

// env is the dashboard mounted in a real API server, over a real store
// and authority, behind httptest, with an admin and a user.
type env struct {
	t      *testing.T
	db     *store.DB
	ops    *admin.Local
	srv    *httptest.Server
	tokens map[string]string
	// seen collects every response body and header, to prove that no
	// token ever comes back.
	seen *strings.Builder
	// logs is the application's log, JSON lines.
	logs *testlog.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(*config.Config) {})
}

// newEnvWith is newEnv with the configuration changed by set.
func newEnvWith(t *testing.T, set func(*config.Config)) *env {
	t.Helper()
	db, err := testdb.Open(filepath.Join(t.TempDir(), "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := httptest.NewUnstartedServer(nil)
	ts.Start()
	t.Cleanup(ts.Close)
	cfg := config.Default()
	cfg.Server.PublicURL = ts.URL
	cfg.Certificates = config.Certificates{DefaultDays: 7, MinDays: 1, MaxDays: 182}
	cfg.CA.KeyType, cfg.CA.Days, cfg.CA.CommonName = "ecdsa-p256", 365, "web test root"
	cfg.ACME.Enabled = false
	set(&cfg)
	logs := &testlog.Buffer{}
	a, err := app.New(cfg, db, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ops := a.Operator
	ts.Config.Handler = a
	e := &env{t: t, db: db, ops: ops, srv: ts, tokens: map[string]string{}, seen: &strings.Builder{}, logs: logs}
	for _, u := range []struct {
		name  string
		admin bool
	}{{"root", true}, {"alice", false}} {
		tok, err := ops.AddUser(context.Background(), u.name, u.admin)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[u.name] = tok
	}
	return e
}

// browser is a cookie-keeping client that does not follow redirects, so
// that tests see each answer.
type browser struct {
	e      *env
	client *http.Client
	csrf   string // from the last page with a form
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) answer {
	b.e.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	for k, v := range resp.Header {
		b.e.seen.WriteString(k + ": " + strings.Join(v, ", ") + "\n")
	}
	b.e.seen.Write(body)
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string) answer {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form as a browser would from a page of this origin.
func (b *browser) post(path string, form url.Values, hdr ...string) answer {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return b.do(req)
}

// signIn signs in with the token of user and fails the test otherwise.
func (b *browser) signIn(user string) {
	b.e.t.Helper()
	b.get("/signin")
	a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {b.e.tokens[user]}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/certificates" {
		b.e.t.Fatalf("signing in as %s: %d %s", user, a.status, a.header.Get("Location"))
	}
	// A page for the session's CSRF token.
	b.get("/certificates")
}

// noTokens fails if any user's token was in any answer so far.
func (e *env) noTokens() {
	e.t.Helper()
	for name, tok := range e.tokens {
		if strings.Contains(e.seen.String(), tok) {
			e.t.Errorf("the token of %s came back in an answer", name)
		}
	}
}
