package app_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/testdb"
)

// lockedBuffer collects log lines written from the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// audit returns the audit lines of an action written so far.
func (b *lockedBuffer) audit(t *testing.T, action string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "audit" && m["action"] == action {
			out = append(out, m)
		}
	}
	return out
}

// TestAudit_RevokeThroughEveryDoor revokes one certificate through each
// door (the admin socket, the API, ACME, the dashboard): each leaves one
// audit line in the server's log, and the four lines have one shape.
func TestAudit_RevokeThroughEveryDoor(t *testing.T) {
	logs := &lockedBuffer{}
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
	a, err := app.New(cfg, db, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = a
	ctx := context.Background()
	token, err := a.Operator.AddUser(ctx, "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	alice := core.Actor{Door: core.DoorAPI, User: "alice"}
	issue := func() (string, crypto.Signer, *x509.Certificate) {
		t.Helper()
		req := &ca.Request{DNSNames: []string{"app.home.lan"}}
		if err := req.Normalize(); err != nil {
			t.Fatal(err)
		}
		c, err := a.Core.Issue(ctx, alice, req, ca.KeyECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		key, err := ca.ParseKey(c.KeyPKCS8)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(c.DER)
		if err != nil {
			t.Fatal(err)
		}
		return c.Serial.String(), key, cert
	}

	// The admin socket, as `certmaker cert revoke` reaches it.
	sock := filepath.Join(dir, "ca.db.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := admin.NewServer(a.Operator)
	go srv.Serve(admin.OwnerOnly(ln, func(err error) { t.Errorf("own connection refused: %v", err) }))
	t.Cleanup(func() { srv.Close() })
	op, err := admin.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := issue()
	if err := op.Revoke(ctx, id, "superseded"); err != nil {
		t.Fatalf("admin socket: %v", err)
	}

	// The API.
	id, _, _ = issue()
	r, _ := http.NewRequest("POST", ts.URL+"/api/certificate/"+id+"/revoke", strings.NewReader(`{"reason":"superseded"}`))
	r.Header.Set("X-Auth-Token", token)
	if resp := do(t, http.DefaultClient, r); resp.StatusCode != http.StatusOK {
		t.Fatalf("API: %d", resp.StatusCode)
	}

	// ACME, signed with the certificate's own key.
	_, key, cert := issue()
	if status := acmeRevoke(t, ts.URL, key, cert); status != http.StatusOK {
		t.Fatalf("ACME: %d", status)
	}

	// The dashboard, signed in with alice's token.
	id, _, _ = issue()
	if status := dashboardRevoke(t, ts.URL, token, id); status != http.StatusSeeOther {
		t.Fatalf("dashboard: %d", status)
	}

	lines := logs.audit(t, "certificate.revoke")
	if len(lines) != 4 {
		t.Fatalf("%d audit lines for 4 revocations: %v", len(lines), lines)
	}
	var doors []string
	shape := keys(lines[0])
	for _, l := range lines {
		doors = append(doors, l["door"].(string))
		if got := keys(l); !slices.Equal(got, shape) {
			t.Errorf("audit line %v has keys %v, the first has %v", l, got, shape)
		}
		if l["result"] != "ok" || l["owner"] != "alice" || l["reason"] != "superseded" || l["actor"] == "" || l["target"] == "" {
			t.Errorf("audit line %v does not say who revoked what, why and how it ended", l)
		}
	}
	if want := []string{"admin", "api", "acme", "web"}; !slices.Equal(doors, want) {
		t.Errorf("doors %v, want %v", doors, want)
	}
	// Nothing secret in the trail.
	if strings.Contains(logs.buf.String(), token) {
		t.Error("a token reached the log")
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		if k != "time" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func do(t *testing.T, c *http.Client, r *http.Request) *http.Response {
	t.Helper()
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// acmeRevoke sends RFC 8555 revokeCert signed by the certificate's key
// (reason 4, superseded) and returns the status.
func acmeRevoke(t *testing.T, base string, key crypto.Signer, cert *x509.Certificate) int {
	t.Helper()
	head := do(t, http.DefaultClient, mustRequest(t, "HEAD", base+"/acme/new-nonce", nil))
	nonce := head.Header.Get("Replay-Nonce")
	url := base + "/acme/revoke-cert"
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, &jose.SignerOptions{
		EmbedJWK:     true,
		ExtraHeaders: map[jose.HeaderKey]any{"nonce": nonce, "url": url},
	})
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"certificate": base64.RawURLEncoding.EncodeToString(cert.Raw), "reason": 4})
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	r := mustRequest(t, "POST", url, strings.NewReader(jws.FullSerialize()))
	r.Header.Set("Content-Type", "application/jose+json")
	return do(t, http.DefaultClient, r).StatusCode
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// dashboardRevoke signs in with token and revokes id for superseded, as a
// browser would; it returns the status of the revocation.
func dashboardRevoke(t *testing.T, base, token, id string) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := func(path string) string {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := csrfField.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no form token on %s (%d)", path, resp.StatusCode)
		}
		return string(m[1])
	}
	post := func(path string, form url.Values) int {
		t.Helper()
		r := mustRequest(t, "POST", base+path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", base)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		return do(t, c, r).StatusCode
	}
	if st := post("/signin", url.Values{"csrf": {csrf("/signin")}, "token": {token}}); st != http.StatusSeeOther {
		t.Fatalf("signing in: %d", st)
	}
	return post("/certificates/"+id+"/revoke", url.Values{"csrf": {csrf("/certificates/" + id + "/revoke")}, "reason": {"superseded"}})
}

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
