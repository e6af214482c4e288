package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"path/filepath"
	"sync"
	"testing"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/core"
	"certmaker/internal/testdb"
	"certmaker/store"
)

// openService is a core over a real bbolt file with a root made for the
// test; set changes its configuration first.
func openService(t *testing.T, set func(*core.Config)) (*core.Service, *store.DB) {
	t.Helper()
	db, err := testdb.Open(filepath.Join(t.TempDir(), "ca.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := newService(t, db, set)
	if _, err := svc.RotateRoot(context.Background(), core.Actor{Door: core.DoorServe, User: "certmaker"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "root"} {
		if _, err := svc.AddUser(context.Background(), core.Operator("test"), name, name == "root"); err != nil {
			t.Fatal(err)
		}
	}
	return svc, db
}

// newService is a service on db, with an authority and a checker of its
// own, set as set says.
func newService(t *testing.T, db *store.DB, set func(*core.Config)) *core.Service {
	t.Helper()
	authority, err := ca.New(ca.Config{PublicURL: "http://ca.test:8880", DefaultDays: 7, MinDays: 1, MaxDays: 182})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := challenge.New(challenge.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.Config{
		Store: db, Authority: authority, Checker: checker,
		Root: ca.RootConfig{KeyType: ca.KeyECDSAP256, Days: 365, CommonName: "core test root", IntermediateDays: 180},
	}
	set(&cfg)
	svc, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func request(t *testing.T, names ...string) *ca.Request {
	t.Helper()
	req := &ca.Request{DNSNames: names}
	if err := req.Normalize(); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestIssue_ChallengesRequiredWhicheverDoor: with challenges required the
// core itself refuses to issue without proof, whichever door's actor
// asks, a server-made key or a CSR's: not only because today's doors open
// a challenge first.
func TestIssue_ChallengesRequiredWhicheverDoor(t *testing.T) {
	svc, db := openService(t, func(c *core.Config) { c.ChallengeRequired = true })
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"app.home.lan"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, creq, err := ca.ParseCSR(ca.CSRPEM(der))
	if err != nil {
		t.Fatal(err)
	}
	if err := creq.Normalize(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []core.Actor{
		{Door: core.DoorAPI, User: "alice"},
		{Door: core.DoorWeb, User: "alice"},
		{Door: core.DoorWeb, User: "root", Admin: true},
		{Door: core.DoorACME, User: "alice", Account: "acct1"},
		core.Operator("uid 0"),
	} {
		if _, err := svc.Issue(ctx, a, request(t, "app.home.lan"), ca.KeyECDSAP256); core.KindOf(err) != core.Invalid {
			t.Errorf("Issue by %s through %s without proof: %v, want Invalid", a.User, a.Door, err)
		}
		if _, err := svc.IssueCSR(ctx, a, csr, creq); core.KindOf(err) != core.Invalid {
			t.Errorf("IssueCSR by %s through %s without proof: %v, want Invalid", a.User, a.Door, err)
		}
	}
	if n, err := db.CountAllCertificates(); err != nil || n != 0 {
		t.Errorf("%d certificates stored without proof (%v)", n, err)
	}
}

// TestIssue_RSAKeyGenerationBounded: however many requests for RSA keys
// arrive at once, no more key generations run at once than KeyGenLimit.
// The generator is the real one, wrapped to count the calls inside it.
func TestIssue_RSAKeyGenerationBounded(t *testing.T) {
	const limit = 2
	var mu sync.Mutex
	inside, most, calls := 0, 0, 0
	gen := func(kt ca.KeyType) (crypto.Signer, error) {
		mu.Lock()
		inside++
		calls++
		most = max(most, inside)
		mu.Unlock()
		defer func() { mu.Lock(); inside--; mu.Unlock() }()
		return ca.GenerateKey(kt)
	}
	svc, _ := openService(t, func(c *core.Config) { c.KeyGenLimit, c.GenerateKey = limit, gen })
	ctx := context.Background()
	alice := core.Actor{Door: core.DoorAPI, User: "alice"}
	var wg sync.WaitGroup
	const requests = 8
	for range requests {
		wg.Go(func() {
			if _, err := svc.Issue(ctx, alice, request(t, "rsa.home.lan"), ca.KeyRSA2048); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if calls != requests {
		t.Fatalf("%d key generations for %d requests: the wrapper saw not all of them", calls, requests)
	}
	if most > limit {
		t.Errorf("%d RSA key generations ran at once, the limit is %d", most, limit)
	}
	if most < limit {
		t.Logf("only %d ran at once: the machine never had them overlap", most)
	}
}
