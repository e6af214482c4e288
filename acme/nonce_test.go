package acme_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	bolt "go.etcd.io/bbolt"
)

// records counts the keys of every bucket in the closed file at path, as
// an independent reader sees them.
func records(t *testing.T, path string) (map[string]int, int64) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := map[string]int{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			counts[string(name)] = b.Stats().KeyN
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return counts, fi.Size()
}

// TestNonce_RefusedRequestsWriteNothing: newAccount requests that are
// refused (no binding, an unknown binding key, onlyReturnExisting for a
// key without an account) come from anyone with a throwaway key; they must
// leave no trace in the file, or unauthenticated traffic grows it.
func TestNonce_RefusedRequestsWriteNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	newAccount := e.url + "/acme/new-account"
	c := e.newClient(newECKey(t), jose.ES256)
	k := e.eab("alice") // the operator's write, before the count
	k.KeyID = "nobody"
	unknownEAB := c.eabJWS(k, newAccount, c.key.Public())
	e.close()
	before, sizeBefore := records(t, e.dbPath)
	e.open()

	const n = 100
	for i := range n {
		c.key = newECKey(t) // a throwaway key per request
		switch i % 3 {
		case 0:
			c.post(newAccount, map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).
				wantProblem(t, http.StatusBadRequest, "externalAccountRequired")
		case 1:
			c.post(newAccount, map[string]any{"onlyReturnExisting": true}, jwsOptions{embedJWK: true}).
				wantProblem(t, http.StatusBadRequest, "accountDoesNotExist")
		case 2:
			c.post(newAccount, map[string]any{"externalAccountBinding": unknownEAB}, jwsOptions{embedJWK: true}).
				wantProblem(t, http.StatusForbidden, "unauthorized")
		}
	}
	e.close()
	after, sizeAfter := records(t, e.dbPath)
	for name, got := range after {
		if got != before[name] {
			t.Errorf("bucket %s: %d records after %d refused requests, %d before", name, got, n, before[name])
		}
	}
	if sizeAfter != sizeBefore {
		t.Errorf("file grew from %d to %d bytes", sizeBefore, sizeAfter)
	}
}

// TestNonce_ReplayAcrossRestart: a nonce spent before a restart is refused
// after it, and so is one handed out before it and never used; the refusal
// carries a nonce that works.
func TestNonce_ReplayAcrossRestart(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	order := []byte(`{"identifiers":[{"type":"dns","value":"app.test"}]}`)
	spent := c.sign(e.url+"/acme/new-order", order, jwsOptions{})
	e.do(http.MethodPost, "/acme/new-order", "application/jose+json", spent).want(t, http.StatusCreated)
	unused := c.sign(e.url+"/acme/new-order", order, jwsOptions{nonce: e.freshNonce()})

	e.restart()
	e.do(http.MethodPost, "/acme/new-order", "application/jose+json", spent).wantProblem(t, http.StatusBadRequest, "badNonce")
	r := e.do(http.MethodPost, "/acme/new-order", "application/jose+json", unused)
	p := r.wantProblem(t, http.StatusBadRequest, "badNonce")
	if !strings.Contains(p.Detail, "restart") {
		t.Errorf("detail %q does not say why", p.Detail)
	}
	c.nonce = r.header.Get("Replay-Nonce")
	c.newOrder(dns("app.test"))
}

// TestNonce_RefusedBeforeSpent: a newAccount refused for what the request
// itself says (no binding where one is required, a binding by a key the
// server never handed out) is refused before its nonce is spent, so the
// refusal costs nothing to keep; a refusal whose answer may change
// (onlyReturnExisting for a key without an account, which its holder may
// make) spends it. A key that has an account gets it, binding or not
// (RFC 8555 7.3.1), as Pebble and step-ca answer.
func TestNonce_RefusedBeforeSpent(t *testing.T) {
	e := newEnv(t, envOptions{})
	newAccount := e.url + "/acme/new-account"
	c := e.newClient(newECKey(t), jose.ES256)
	k := e.eab("alice")
	k.KeyID = "nobody"
	post := func(nonce string, payload map[string]any) response {
		return c.post(newAccount, payload, jwsOptions{embedJWK: true, nonce: nonce})
	}

	nonce := e.freshNonce()
	post(nonce, map[string]any{"termsOfServiceAgreed": true}).wantProblem(t, http.StatusBadRequest, "externalAccountRequired")
	post(nonce, map[string]any{"externalAccountBinding": c.eabJWS(k, newAccount, c.key.Public())}).wantProblem(t, http.StatusForbidden, "unauthorized")
	post(nonce, map[string]any{"onlyReturnExisting": true}).wantProblem(t, http.StatusBadRequest, "accountDoesNotExist")
	post(nonce, map[string]any{"onlyReturnExisting": true}).wantProblem(t, http.StatusBadRequest, "badNonce")

	c.register("alice")
	if r := post(e.freshNonce(), map[string]any{"termsOfServiceAgreed": true}).want(t, http.StatusOK); r.header.Get("Location") != c.kid {
		t.Errorf("newAccount again without a binding: Location %q, want %q", r.header.Get("Location"), c.kid)
	}
	if r := post(e.freshNonce(), map[string]any{"onlyReturnExisting": true}).want(t, http.StatusOK); r.header.Get("Location") != c.kid {
		t.Errorf("onlyReturnExisting for the account's key: Location %q, want %q", r.header.Get("Location"), c.kid)
	}
}
