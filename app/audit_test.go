package app_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/store"
)

// TestAudit_RevokeThroughEveryDoor revokes one certificate through each
// door (the admin socket, the API, ACME, the dashboard): each leaves one
// audit line in the server's log, and the four lines have one shape.
func TestAudit_RevokeThroughEveryDoor(t *testing.T) {
	a := startApp(t, app.Options{}, func(*config.Config) {})
	logs, dir := a.logs, a.dir
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
	if st, body := a.apiDo(t, "POST", "/api/certificate/"+id+"/revoke", token, `{"reason":"superseded"}`); st != http.StatusOK {
		t.Fatalf("API: %d %s", st, body)
	}

	// ACME, signed with the certificate's own key.
	_, key, cert := issue()
	if status := acmeRevoke(t, a.url, key, cert); status != http.StatusOK {
		t.Fatalf("ACME: %d", status)
	}

	// The dashboard, signed in with alice's token.
	id, _, _ = issue()
	path := "/certificates/" + id + "/revoke"
	if status := signIn(t, a.url, token).post(path, path, url.Values{"reason": {"superseded"}}); status != http.StatusSeeOther {
		t.Fatalf("dashboard: %d", status)
	}

	lines := logs.Audit(t, "certificate.revoke")
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
	if strings.Contains(logs.String(), token) {
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

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAudit_EveryStateChange: every state change leaves exactly one audit
// line, with its action, the actor, the door, what it acted on and how it
// ended, checked action by action: users, EAB keys, challenges, the roots
// and intermediates, the store's key and backups.
func TestAudit_EveryStateChange(t *testing.T) {
	a := startApp(t, app.Options{}, func(c *config.Config) { c.Challenge.Required = true })
	ctx := context.Background()
	op := a.Operator
	var token, kid, challengeID, oldInter string
	steps := []struct {
		action, door string
		do           func() (target string, err error)
	}{
		{"user.add", "admin", func() (string, error) {
			var err error
			token, err = op.AddUser(ctx, "alice", false)
			return "alice", err
		}},
		{"user.disable", "admin", func() (string, error) { return "alice", op.SetDisabled(ctx, "alice", true) }},
		{"user.enable", "admin", func() (string, error) { return "alice", op.SetDisabled(ctx, "alice", false) }},
		{"user.token", "admin", func() (string, error) {
			var err error
			token, err = op.ResetToken(ctx, "alice")
			return "alice", err
		}},
		{"user.policy", "admin", func() (string, error) {
			optional := "optional"
			_, err := op.SetPolicy(ctx, "alice", admin.PolicyChange{Allow: &[]string{".home.lan"}, Challenge: &optional})
			return "alice", err
		}},
		{"certificate.issue", "admin", func() (string, error) {
			got, err := op.IssueCertificate(ctx, admin.IssueRequest{User: "alice", Domains: []string{"app.home.lan"}})
			return got.ID, err
		}},
		{"user.policy", "admin", func() (string, error) {
			_, err := op.SetPolicy(ctx, "alice", admin.PolicyChange{Clear: true})
			return "alice", err
		}},
		{"acme.eab.create", "admin", func() (string, error) {
			k, err := op.ACMEEAB(ctx, "alice")
			kid = k.KeyID
			return kid, err
		}},
		{"acme.account.deactivate", "admin", func() (string, error) {
			acct := store.ACMEAccount{ID: "acct1", Owner: "alice", Thumbprint: "tp1", Key: []byte(`{}`), Status: "valid", EABKeyID: kid}
			if _, err := a.db.CreateACMEAccount(acct); err != nil {
				return "", err
			}
			_, err := op.DeactivateACMEAccount(ctx, acct.ID)
			return acct.ID, err
		}},
		{"acme.eab.revoke", "admin", func() (string, error) {
			_, err := op.RevokeACMEEAB(ctx, kid)
			return kid, err
		}},
		{"challenge.open", "api", func() (string, error) {
			st, body := a.apiDo(t, "POST", "/api/certificate/request", token, `{"domains":["localhost"]}`)
			if st != http.StatusAccepted {
				return "", fmt.Errorf("opening a challenge: %d %s", st, body)
			}
			return "", nil // the id is in the location; checked below
		}},
		{"challenge.solve", "api", func() (string, error) {
			pending, _, err := a.Core.PendingChallenges(ctx, core.Actor{Door: core.DoorAPI, User: "alice"}, 10)
			if err != nil || len(pending) != 1 {
				return "", fmt.Errorf("the pending challenge: %v %v", pending, err)
			}
			challengeID = pending[0].ID
			if st, body := a.apiDo(t, "POST", "/api/challenge/"+challengeID+"/solve", token, ""); st != http.StatusOK {
				return "", fmt.Errorf("solving: %d %s", st, body)
			}
			return challengeID, nil
		}},
		{"root.new", "admin", func() (string, error) { return op.RotateRoot(ctx) }},
		{"intermediate.new", "admin", func() (string, error) {
			st, err := op.Status(ctx)
			if in, ok := st.ActiveIntermediate(); ok {
				oldInter = in.Fingerprint
			}
			if err != nil {
				return "", err
			}
			return op.RotateIntermediate(ctx, nil)
		}},
		{"intermediate.revoke", "admin", func() (string, error) {
			return op.RevokeIntermediate(ctx, oldInter, "keyCompromise", nil)
		}},
		{"root.crl", "admin", func() (string, error) {
			_, err := op.SignRootCRL(ctx, nil)
			return a.Core.Authority().ActiveRoot().Fingerprint, err
		}},
		{"root.export_key", "admin", func() (string, error) {
			fp, _, err := op.ExportRootKey(ctx)
			return fp, err
		}},
		{"root.offline", "admin", func() (string, error) {
			fp := a.Core.Authority().ActiveRoot().Fingerprint
			_, err := op.TakeRootOffline(ctx, fp)
			return fp, err
		}},
		{"store.rekey", "admin", func() (string, error) { return op.Rekey(ctx) }},
		{"store.backup", "admin", func() (string, error) {
			_, err := op.Backup(ctx, io.Discard)
			return "", err
		}},
	}
	for _, s := range steps {
		before := len(a.logs.Audit(t, s.action))
		target, err := s.do()
		if err != nil {
			t.Fatalf("%s: %v", s.action, err)
		}
		lines := a.logs.Audit(t, s.action)
		if len(lines) != before+1 {
			t.Errorf("%s wrote %d audit lines, want 1", s.action, len(lines)-before)
			continue
		}
		l := lines[len(lines)-1]
		if l["result"] != "ok" || l["door"] != s.door || l["actor"] == "" || l["actor"] == "unknown" {
			t.Errorf("%s: audit line %v, want result ok, door %s and an actor", s.action, l, s.door)
		}
		if target != "" && l["target"] != target {
			t.Errorf("%s: audit target %v, want %s", s.action, l["target"], target)
		}
	}
	if strings.Contains(a.logs.String(), token) {
		t.Error("a token reached the log")
	}
}

// TestAudit_SkippedProof: a user whose policy waives the proof the CA
// requires ([challenge] required, the user's challenge optional) gets
// certificates on a token alone, a lower bar: the audit trail says so
// when the user is made with it, and on every certificate issued so;
// nowhere else.
func TestAudit_SkippedProof(t *testing.T) {
	for _, required := range []bool{true, false} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			a := startApp(t, app.Options{}, func(c *config.Config) { c.Challenge.Required = required })
			ctx := context.Background()
			optional := "optional"
			erin, err := a.Operator.AddUserWithPolicy(ctx, "erin", false, admin.PolicyChange{Challenge: &optional})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Operator.AddUser(ctx, "frank", false); err != nil {
				t.Fatal(err)
			}
			if st, body := a.apiDo(t, "POST", "/api/certificate/request", erin, `{"domains":["app.home.lan"]}`); st != http.StatusOK {
				t.Fatalf("erin's request: %d %s", st, body)
			}
			if _, err := a.Operator.IssueCertificate(ctx, admin.IssueRequest{User: "erin", Domains: []string{"op.home.lan"}}); err != nil {
				t.Fatal(err)
			}
			if !required {
				if _, err := a.Operator.IssueCertificate(ctx, admin.IssueRequest{User: "frank", Domains: []string{"f.home.lan"}}); err != nil {
					t.Fatal(err)
				}
			}
			for _, action := range []string{"user.add", "certificate.issue"} {
				for _, l := range a.logs.Audit(t, action) {
					erins := l["target"] == "erin" || l["owner"] == "erin"
					if got := l["skips_required_challenge"] == true; got != (required && erins) {
						t.Errorf("%s line %v: skips_required_challenge %v, want %v", action, l, got, required && erins)
					}
				}
			}
			if n := len(a.logs.Audit(t, "certificate.issue")); n < 2 {
				t.Errorf("%d certificate.issue lines", n)
			}
		})
	}
}
