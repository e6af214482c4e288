package etcd

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/testlog"
	"certmaker/storage"
)

// inNode is a certmaker node in this test's process: its own etcd client,
// key file and core, following the roots other nodes change, as serve
// does.
type inNode struct {
	svc *core.Service
	st  app.Store
	log *testlog.Buffer
	cfg config.Config
}

// startInNode starts a node on the store under prefix at endpoint, its key
// file a copy of key (nil: the node makes the store and its key file).
func startInNode(t *testing.T, endpoint, prefix string, key []byte, timeout time.Duration) *inNode {
	t.Helper()
	n := openInNode(t, endpoint, prefix, key, timeout)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n.svc.FollowRoots(ctx)
	return n
}

// openInNode is startInNode without following the roots: a node that
// never hears of another's changes.
func openInNode(t *testing.T, endpoint, prefix string, key []byte, timeout time.Duration) *inNode {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Store.Backend, cfg.Store.Path, cfg.Store.KeyFile = "etcd", filepath.Join(dir, "node.db"), filepath.Join(dir, "seal.key")
	cfg.Store.Etcd.Endpoints, cfg.Store.Etcd.Prefix = []string{endpoint}, prefix
	cfg.Store.Etcd.RequestTimeout = config.Duration{Duration: timeout}
	if key != nil {
		copyFile2(t, key, cfg.Store.KeyFile)
	}
	st, err := app.OpenStore(cfg, app.OpenOptions{Create: key == nil})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &inNode{st: st, log: &testlog.Buffer{}, cfg: cfg}
	if n.svc, err = app.NewCore(cfg, st, app.Options{Logger: n.log.Logger()}); err != nil {
		t.Fatal(err)
	}
	if err := app.EnsureRoot(context.Background(), n.svc, n.log.Logger()); err != nil {
		t.Fatal(err)
	}
	return n
}

func copyFile2(t *testing.T, b []byte, to string) {
	t.Helper()
	must(t, os.WriteFile(to, b, 0o600))
}

// issue asks the node for a certificate of one name.
func (n *inNode) issue(name string) (*storage.Certificate, error) {
	req := &ca.Request{DNSNames: []string{name}}
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	return n.svc.Issue(context.Background(), app.Bootstrap, req, ca.KeyType("ecdsa-p256"))
}

func (n *inNode) active(t *testing.T) string {
	t.Helper()
	i, err := n.svc.ActiveIssuer()
	if err != nil {
		t.Fatal(err)
	}
	return i.Fingerprint
}

// A node whose reload of the roots fails (here: another node rekeyed the
// store, then rotated the root, and this node's key file is copied after)
// never commits a certificate signed by the retired issuer, and ends up on
// the new one without a restart and without a request asking for it.
func TestIssuer_StaleNodeNeverCommits(t *testing.T) {
	prefix := newPrefix()
	a := startInNode(t, embedded.endpoint, prefix, nil, 5*time.Second)
	b := startInNode(t, embedded.endpoint, prefix, readFile(t, a.cfg.Store.KeyFile), 5*time.Second)
	old := b.active(t)
	if c, err := b.issue("before.lan"); err != nil || c.Root != old {
		t.Fatalf("b before the rotation: %v", err)
	}

	if _, err := a.svc.Rekey(context.Background(), core.Operator("test")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.svc.RotateRoot(context.Background(), core.Operator("test")); err != nil {
		t.Fatal(err)
	}
	now := a.active(t)
	if now == old {
		t.Fatal("the rotation kept the issuer")
	}
	// b hears of the rotation and cannot load it: the new intermediate's
	// key is sealed under a key b does not have yet.
	within(t, time.Now(), 10*time.Second, "b tries to reload", func() bool {
		return strings.Contains(b.log.String(), "reloading the roots")
	})
	for i := range 3 {
		c, err := b.issue("stale.lan")
		if err == nil {
			t.Fatalf("b issued %s with issuer %s after the rotation to %s while its key file was stale (old %s)", c.Serial, c.Root, now, old)
		}
		if core.KindOf(err) != core.Unavailable {
			t.Fatalf("b's refusal %d: %v (kind %s), want Unavailable (503, retry)", i, err, core.KindOf(err))
		}
	}

	// The operator copies the new key file; b takes the new issuer by
	// itself, before anyone asks it to issue.
	copyFile2(t, readFile(t, a.cfg.Store.KeyFile), b.cfg.Store.KeyFile)
	within(t, time.Now(), 20*time.Second, "b loads the new issuer", func() bool { return b.active(t) == now })
	c, err := b.issue("after.lan")
	if err != nil || c.Root != now {
		t.Fatalf("b after the key file came: %v (root %v), want issued by %s", err, c, now)
	}
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil || !strings.Contains(string(b.svc.ChainPEM(c)), "CERTIFICATE") || cert.Issuer.String() == "" {
		t.Fatalf("b's certificate: %v", err)
	}
}

// A node still on an issuer another node rotated out (its watch has not
// told it yet) cannot commit a certificate the retired issuer signed: the
// store refuses it, and the node loads the new issuer and signs again.
func TestIssuer_CommitChecksActiveIssuer(t *testing.T) {
	prefix := newPrefix()
	a := startInNode(t, embedded.endpoint, prefix, nil, 5*time.Second)
	// b never hears of changes.
	b := openInNode(t, embedded.endpoint, prefix, readFile(t, a.cfg.Store.KeyFile), 5*time.Second)
	old := b.active(t)
	if _, err := a.svc.RotateIntermediate(context.Background(), core.Operator("test"), nil); err != nil {
		t.Fatal(err)
	}
	now := a.active(t)
	c, err := b.issue("stale.lan")
	if err == nil && c.Root == old {
		t.Fatalf("b committed %s signed by the retired issuer %s (active %s)", c.Serial, old, now)
	}
	if err != nil && core.KindOf(err) != core.Unavailable {
		t.Fatalf("b: %v (kind %s), want issued by the new issuer or Unavailable", err, core.KindOf(err))
	}
	if err == nil && c.Root != now {
		t.Fatalf("b issued with %s, want %s", c.Root, now)
	}
	if _, err := a.svc.RevokeIntermediate(context.Background(), core.Operator("test"), old, 1, nil); err != nil {
		t.Fatal(err)
	}
	// The store holds no certificate of b's by the old issuer.
	got, _, err := b.st.ListCertificates(storage.ListQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Root == old && c.Names[0] == "stale.lan" {
			t.Fatalf("stored: %s by the retired issuer", c.Serial)
		}
	}
}
