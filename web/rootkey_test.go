package web_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStatus_RootKeyOffline: the status page says where the root key is,
// and with the root offline the dashboard still issues and serves
// certificates with their chain.
func TestStatus_RootKeyOffline(t *testing.T) {
	e := newEnv(t)
	adm := e.browser()
	adm.signIn("root")
	if a := adm.get("/admin"); !strings.Contains(a.body, "Root key: online") {
		t.Fatalf("status page with the root online does not say so:\n%s", a.body)
	}
	ctx := context.Background()
	fp, _, err := e.ops.ExportRootKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ops.TakeRootOffline(ctx, fp); err != nil {
		t.Fatal(err)
	}
	a := adm.get("/admin")
	if !strings.Contains(a.body, "Root key: offline") || strings.Contains(a.body, `role="alert"`) {
		t.Fatalf("status page with the root offline (and a fresh root CRL):\n%s", a.body)
	}

	b := e.browser()
	b.signIn("alice")
	r := b.post("/certificates/new", url.Values{"csrf": {b.csrf}, "names": {"offline.home.lan"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("issuing from the dashboard with the root offline: %d\n%s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	chain := b.get(loc + "/certificate.pem")
	if chain.status != 200 {
		t.Fatalf("certificate download: %d", chain.status)
	}
	n := 0
	for rest := []byte(chain.body); ; n++ {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
	}
	if n != 2 {
		t.Errorf("the certificate download holds %d certificates, want the leaf and its intermediate", n)
	}
}
