package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/internal/testlog"
	"certmaker/storage"
)

func list(s ...string) *[]string { return &s }

func ptr[T any](v T) *T { return &v }

// setPolicy gives a user a policy as an operator would.
func setPolicy(t *testing.T, svc *core.Service, name string, c core.PolicyChange) {
	t.Helper()
	if _, err := svc.SetPolicy(context.Background(), core.Operator("test"), name, c); err != nil {
		t.Fatalf("setting the policy of %s: %v", name, err)
	}
}

func csrFor(t *testing.T, key crypto.Signer, names ...string) (*x509.CertificateRequest, *ca.Request) {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, req, err := core.CSRRequest(ca.CSRPEM(der), 0)
	if err != nil {
		t.Fatal(err)
	}
	return csr, req
}

// TestPolicy_RefusedBeforeAnything: a request outside the user's policy
// is refused with PolicyDenied, naming each refused name and what the
// policy allows, before any key is made or challenge stored, whether the
// user must prove the names or not; a request inside it is issued.
func TestPolicy_RefusedBeforeAnything(t *testing.T) {
	for _, required := range []bool{false, true} {
		var keys atomic.Int32
		gen := func(kt ca.KeyType) (crypto.Signer, error) { keys.Add(1); return ca.GenerateKey(kt) }
		svc, db := openService(t, func(c *core.Config) { c.ChallengeRequired, c.GenerateKey = required, gen })
		ctx := context.Background()
		setPolicy(t, svc, "alice", core.PolicyChange{Allow: list("nas.home.lan", "192.168.1.0/24"), Deny: list("192.168.1.1")})
		alice := core.Actor{Door: core.DoorAPI, User: "alice"}

		req := request(t, "nas.home.lan", "vault.home.lan", "x.nas.home.lan")
		req.IPs = append(req.IPs, mustAddr(t, "192.168.1.1"), mustAddr(t, "192.168.1.20"))
		_, err := svc.Request(ctx, alice, core.CertificateRequest{Request: req, KeyType: ca.KeyECDSAP256})
		var pe *core.PolicyError
		if core.KindOf(err) != core.PolicyDenied || !errors.As(err, &pe) {
			t.Fatalf("required=%v: a request outside the policy: %v, want PolicyDenied", required, err)
		}
		if !slices.Equal(pe.Refused, []string{"vault.home.lan", "x.nas.home.lan", "192.168.1.1"}) {
			t.Errorf("refused %v, want the three names outside the policy, in order", pe.Refused)
		}
		for _, want := range []string{"vault.home.lan", "x.nas.home.lan", "192.168.1.1 (denied by 192.168.1.1)", "allows only nas.home.lan, 192.168.1.0/24", "except 192.168.1.1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "192.168.1.20") {
			t.Errorf("message %q names an allowed address", err)
		}
		if n := keys.Load(); n != 0 {
			t.Errorf("required=%v: %d keys made for a refused request", required, n)
		}
		if pending, _, err := svc.PendingChallenges(ctx, alice, 10); err != nil || len(pending) != 0 {
			t.Errorf("required=%v: %d challenges stored for a refused request (%v)", required, len(pending), err)
		}
		if n, err := db.CountAllCertificates(); err != nil || n != 0 {
			t.Errorf("%d certificates stored for a refused request (%v)", n, err)
		}

		res, err := svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "nas.home.lan"), KeyType: ca.KeyECDSAP256})
		switch {
		case err != nil:
			t.Errorf("required=%v: a request inside the policy: %v", required, err)
		case required && res.Challenge == nil, !required && res.Certificate == nil:
			t.Errorf("required=%v: a request inside the policy gave %+v", required, res)
		}
	}
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := ca.NormalizeIP(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPolicy_KeyTypes: the allowed key types bind keys the server makes
// (refused before one is made) and keys in CSRs alike.
func TestPolicy_KeyTypes(t *testing.T) {
	var keys atomic.Int32
	gen := func(kt ca.KeyType) (crypto.Signer, error) { keys.Add(1); return ca.GenerateKey(kt) }
	svc, _ := openService(t, func(c *core.Config) { c.GenerateKey = gen })
	ctx := context.Background()
	setPolicy(t, svc, "alice", core.PolicyChange{KeyTypes: list("ecdsa-p256", "ecdsa-p384")})
	alice := core.Actor{Door: core.DoorAPI, User: "alice"}

	_, err := svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "a.home.lan"), KeyType: ca.KeyRSA2048})
	if core.KindOf(err) != core.PolicyDenied || !strings.Contains(err.Error(), "key type rsa-2048") || !strings.Contains(err.Error(), "key types ecdsa-p256, ecdsa-p384") {
		t.Errorf("rsa-2048 from a policy of ECDSA keys: %v, want PolicyDenied naming it and the allowed types", err)
	}
	if keys.Load() != 0 {
		t.Error("a key was made for a refused key type")
	}
	if _, err := svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "a.home.lan"), KeyType: ca.KeyECDSAP384}); err != nil {
		t.Errorf("ecdsa-p384: %v", err)
	}

	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	csr, req := csrFor(t, edKey, "a.home.lan")
	if _, err := svc.Request(ctx, alice, core.CertificateRequest{Request: req, CSR: csr}); core.KindOf(err) != core.PolicyDenied || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("a CSR with an Ed25519 key: %v, want PolicyDenied", err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, req = csrFor(t, ecKey, "a.home.lan")
	if _, err := svc.Request(ctx, alice, core.CertificateRequest{Request: req, CSR: csr}); err != nil {
		t.Errorf("a CSR with a P-256 key: %v", err)
	}
}

// TestPolicy_MaxDaysClamps: a validity beyond the policy's maximum is
// clamped to it, as the CA clamps to its own; a shorter one is kept.
func TestPolicy_MaxDaysClamps(t *testing.T) {
	svc, _ := openService(t, func(*core.Config) {})
	ctx := context.Background()
	setPolicy(t, svc, "alice", core.PolicyChange{MaxDays: ptr(30)})
	alice := core.Actor{Door: core.DoorAPI, User: "alice"}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, c := range []struct {
		days, want int
		csr        bool
	}{{90, 30, false}, {500, 30, false}, {0, 7, false}, {10, 10, false}, {100, 30, true}} {
		var cr core.CertificateRequest
		if c.csr {
			csr, req := csrFor(t, ecKey, "days.home.lan")
			req.Days = c.days
			cr = core.CertificateRequest{Request: req, CSR: csr}
		} else {
			req := request(t, "days.home.lan")
			req.Days = c.days
			cr = core.CertificateRequest{Request: req, KeyType: ca.KeyECDSAP256}
		}
		res, err := svc.Request(ctx, alice, cr)
		if err != nil {
			t.Fatalf("days %d: %v", c.days, err)
		}
		cert, err := x509.ParseCertificate(res.Certificate.DER)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(cert.NotAfter.Sub(cert.NotBefore).Round(time.Hour).Hours() / 24); got != c.want {
			t.Errorf("days %d (csr %v): valid for %d days, want %d", c.days, c.csr, got, c.want)
		}
	}
	if _, err := svc.SetPolicy(ctx, core.Operator("test"), "alice", core.PolicyChange{MaxDays: ptr(0)}); err != nil {
		t.Fatal(err)
	}
	info, err := svc.UserPolicy(ctx, core.Operator("test"), "alice")
	if err != nil || info.MaxDays != 182 || info.Policy.MaxDays != 0 {
		t.Errorf("max days 0 is the CA's maximum: %+v, %v", info, err)
	}
}

// TestPolicy_Challenge: a user's challenge setting overrides the CA's
// for that user, both ways; the default follows the CA. A user who may
// skip the proof may ask for a wildcard, which no HTTP proof could show.
func TestPolicy_Challenge(t *testing.T) {
	for _, c := range []struct {
		caRequired bool
		setting    string
		wantProof  bool
	}{
		{false, "default", false},
		{false, core.ChallengeRequired, true},
		{true, "default", true},
		{true, core.ChallengeOptional, false},
		{true, core.ChallengeRequired, true},
		{false, core.ChallengeOptional, false},
	} {
		svc, _ := openService(t, func(cfg *core.Config) { cfg.ChallengeRequired = c.caRequired })
		ctx := context.Background()
		setPolicy(t, svc, "alice", core.PolicyChange{Challenge: ptr(c.setting)})
		alice := core.Actor{Door: core.DoorAPI, User: "alice"}
		res, err := svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "app.home.lan"), KeyType: ca.KeyECDSAP256})
		if err != nil {
			t.Fatalf("CA required %v, user %s: %v", c.caRequired, c.setting, err)
		}
		if got := res.Challenge != nil; got != c.wantProof {
			t.Errorf("CA required %v, user %s: challenge %v, want %v", c.caRequired, c.setting, got, c.wantProof)
		}
		_, err = svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "*.home.lan"), KeyType: ca.KeyECDSAP256})
		if c.wantProof != (core.KindOf(err) == core.Invalid) {
			t.Errorf("CA required %v, user %s: a wildcard: %v", c.caRequired, c.setting, err)
		}
		if info, err := svc.UserPolicy(ctx, alice, "alice"); err != nil || info.ChallengeRequired != c.wantProof {
			t.Errorf("CA required %v, user %s: own policy %+v, %v", c.caRequired, c.setting, info, err)
		}
	}
}

// TestPolicy_NextRequest: a change applies to the user's very next
// request, and to a challenge opened before it when it is solved.
func TestPolicy_NextRequest(t *testing.T) {
	svc, _ := openService(t, func(c *core.Config) { c.ChallengeRequired = true })
	ctx := context.Background()
	alice := core.Actor{Door: core.DoorAPI, User: "alice"}
	ch, err := svc.OpenChallenge(ctx, alice, request(t, "localhost"), ca.KeyECDSAP256, core.ProofHTTP)
	if err != nil {
		t.Fatal(err)
	}
	setPolicy(t, svc, "alice", core.PolicyChange{Allow: list(".home.lan")})
	if _, err := svc.SolveChallenge(ctx, alice, ch.ID, 80); core.KindOf(err) != core.PolicyDenied {
		t.Errorf("solving a challenge for a name the policy now refuses: %v, want PolicyDenied", err)
	}
	if _, err := svc.OpenChallenge(ctx, alice, request(t, "localhost"), ca.KeyECDSAP256, core.ProofHTTP); core.KindOf(err) != core.PolicyDenied {
		t.Errorf("the next request after the change: %v, want PolicyDenied", err)
	}
	setPolicy(t, svc, "alice", core.PolicyChange{Clear: true})
	if _, err := svc.SolveChallenge(ctx, alice, ch.ID, 80); err != nil {
		t.Errorf("solving after the policy was cleared: %v", err)
	}
}

// TestSetPolicy: a policy is stored normalized, a bad one is refused whole
// and changes nothing, only admins and the operator set one, and each
// change writes one audit line naming what changed.
func TestSetPolicy(t *testing.T) {
	var logs testlog.Buffer
	svc, db := openService(t, func(c *core.Config) { c.ChallengeRequired, c.Logger = true, logs.Logger() })
	ctx := context.Background()
	op := core.Operator("uid 0")
	info, err := svc.SetPolicy(ctx, op, "alice", core.PolicyChange{Allow: list("NAS.home.lan", "nas.home.lan", "@Home.Lan"), MaxDays: ptr(30)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Policy.Allow, []string{"nas.home.lan", "@home.lan"}) || info.Policy.MaxDays != 30 {
		t.Errorf("stored %+v", info.Policy)
	}
	for _, bad := range []core.PolicyChange{
		{Allow: list("nas.home.lan", "bad name")},
		{KeyTypes: list("dsa")},
		{Challenge: ptr("maybe")},
		{MaxDays: ptr(-3)},
	} {
		if _, err := svc.SetPolicy(ctx, op, "alice", bad); core.KindOf(err) != core.Invalid {
			t.Errorf("SetPolicy(%+v) = %v, want Invalid", bad, err)
		}
	}
	if u, err := db.User("alice"); err != nil || !slices.Equal(u.Policy.Allow, []string{"nas.home.lan", "@home.lan"}) || u.Policy.MaxDays != 30 {
		t.Errorf("after refused changes: %+v, %v", u.Policy, err)
	}
	if _, err := svc.SetPolicy(ctx, core.Actor{Door: core.DoorWeb, User: "alice"}, "alice", core.PolicyChange{Clear: true}); core.KindOf(err) != core.Forbidden {
		t.Errorf("a user setting their own policy: %v, want Forbidden", err)
	}
	if _, err := svc.UserPolicy(ctx, core.Actor{Door: core.DoorWeb, User: "alice"}, "root"); core.KindOf(err) != core.Forbidden {
		t.Errorf("a user reading another's policy: %v, want Forbidden", err)
	}
	if _, err := svc.SetPolicy(ctx, core.Actor{Door: core.DoorWeb, User: "root", Admin: true}, "nobody", core.PolicyChange{Clear: true}); core.KindOf(err) != core.NotFound {
		t.Errorf("the policy of nobody: %v, want NotFound", err)
	}

	if _, err := svc.SetPolicy(ctx, op, "alice", core.PolicyChange{Deny: list(".secret.home.lan"), Challenge: ptr("optional")}); err != nil {
		t.Fatal(err)
	}
	lines := logs.Audit(t, "user.policy")
	var ok []map[string]any
	for _, l := range lines {
		if l["result"] == "ok" {
			ok = append(ok, l)
		}
	}
	if len(ok) != 2 {
		t.Fatalf("%d audit lines for 2 changes: %v", len(ok), lines)
	}
	first, last := ok[0], ok[1]
	if first["target"] != "alice" || first["actor"] != "uid 0" || first["changed"] != "allow max_days" || first["allow"] != "nas.home.lan @home.lan" || first["max_days"] != float64(30) {
		t.Errorf("first change: %v", first)
	}
	if last["changed"] != "deny challenge" || last["deny"] != ".secret.home.lan" || last["challenge"] != "optional" || last["skips_required_challenge"] != true {
		t.Errorf("second change (lowers the CA's bar): %v", last)
	}
	if _, present := last["allow"]; present {
		t.Errorf("the second change names a part it did not change: %v", last)
	}
}

// TestAddUser_DefaultPolicy: a new user gets the configured default,
// changed by what the operator gives with it; a bad default stops the
// service from starting, naming the key.
func TestAddUser_DefaultPolicy(t *testing.T) {
	def := storage.Policy{Allow: []string{".lab.home.lan"}, MaxDays: 30}
	svc, db := openService(t, func(c *core.Config) { c.DefaultPolicy = def })
	ctx := context.Background()
	if u, err := db.User("alice"); err != nil || !slices.Equal(u.Policy.Allow, def.Allow) || u.Policy.MaxDays != 30 {
		t.Errorf("a new user's policy: %+v, %v; want the default", u.Policy, err)
	}
	if _, err := svc.AddUserWithPolicy(ctx, core.Operator("test"), "nas", false, core.PolicyChange{Allow: list("nas.home.lan")}); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.User("nas"); !slices.Equal(u.Policy.Allow, []string{"nas.home.lan"}) || u.Policy.MaxDays != 30 {
		t.Errorf("the default changed by --allow: %+v", u.Policy)
	}
	if _, err := svc.AddUserWithPolicy(ctx, core.Operator("test"), "boss", true, core.PolicyChange{Clear: true}); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.User("boss"); !u.Policy.IsZero() {
		t.Errorf("--clear: %+v, want no policy", u.Policy)
	}
	if _, err := svc.AddUserWithPolicy(ctx, core.Operator("test"), "bad", false, core.PolicyChange{Allow: list("a b")}); core.KindOf(err) != core.Invalid {
		t.Errorf("a new user with a bad rule: %v, want Invalid", err)
	}
	if _, err := db.User("bad"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a user refused for its policy was stored: %v", err)
	}

	authority, err := ca.New(ca.Config{PublicURL: "http://ca.test:8880", DefaultDays: 7, MinDays: 1, MaxDays: 182})
	if err != nil {
		t.Fatal(err)
	}
	_, err = core.New(core.Config{Store: db, Authority: authority, DefaultPolicy: storage.Policy{Deny: []string{"10.0.0.0/33"}}})
	if err == nil || !strings.Contains(err.Error(), "policy.default") || !strings.Contains(err.Error(), "10.0.0.0/33") {
		t.Errorf("a bad default policy: %v", err)
	}
}

// TestPolicy_OperatorIssuesForAUser: an operator issuing for a user is
// held to that user's policy, and the certificate is the user's; a user
// who must prove names cannot be issued for without a proof.
func TestPolicy_OperatorIssuesForAUser(t *testing.T) {
	svc, _ := openService(t, func(*core.Config) {})
	ctx := context.Background()
	setPolicy(t, svc, "alice", core.PolicyChange{Allow: list("nas.home.lan")})
	op := core.Actor{Door: core.DoorAdmin, User: "uid 0", For: "alice"}
	if _, err := svc.Issue(ctx, op, request(t, "vault.home.lan"), ca.KeyECDSAP256); core.KindOf(err) != core.PolicyDenied {
		t.Errorf("an operator issuing outside the user's policy: %v, want PolicyDenied", err)
	}
	c, err := svc.Issue(ctx, op, request(t, "nas.home.lan"), ca.KeyECDSAP256)
	if err != nil || c.Owner != "alice" {
		t.Fatalf("an operator issuing inside it: %+v, %v; want alice's certificate", c, err)
	}
	// Only the operator acts for another user.
	if c, err := svc.Issue(ctx, core.Actor{Door: core.DoorAPI, User: "root", For: "alice"}, request(t, "x.home.lan"), ca.KeyECDSAP256); err != nil || c.Owner != "root" {
		t.Errorf("For on a user's actor: %+v, %v; want root's own certificate", c, err)
	}
	setPolicy(t, svc, "alice", core.PolicyChange{Challenge: ptr(core.ChallengeRequired)})
	if _, err := svc.Issue(ctx, op, request(t, "nas.home.lan"), ca.KeyECDSAP256); core.KindOf(err) != core.Invalid || !strings.Contains(err.Error(), "must prove") {
		t.Errorf("an operator issuing for a user who must prove names: %v, want Invalid", err)
	}
	if err := svc.SetDisabled(ctx, core.Operator("test"), "alice", true); err != nil {
		t.Fatal(err)
	}
	setPolicy(t, svc, "alice", core.PolicyChange{Clear: true})
	if _, err := svc.Issue(ctx, op, request(t, "nas.home.lan"), ca.KeyECDSAP256); core.KindOf(err) != core.Disabled {
		t.Errorf("an operator issuing for a disabled user: %v, want Disabled", err)
	}
}
