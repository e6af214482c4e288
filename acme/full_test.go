package acme_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"certmaker/internal/smallfs"
	"certmaker/internal/testlog"
)

// wantFull fails unless r is the answer of a full disk: 503 with
// Retry-After and a problem that says the storage is full, nothing more.
func wantFull(t *testing.T, what string, r response) {
	t.Helper()
	var p problemDoc
	r.json(t, &p)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" ||
		p.Type != "about:blank" || p.Status != http.StatusServiceUnavailable || p.Detail != "the CA's storage is full; try again later" {
		t.Errorf("%s on a full disk: %d Retry-After %q, %s", what, r.status, r.header.Get("Retry-After"), r.body)
	}
	if r.header.Get("Replay-Nonce") == "" {
		t.Errorf("%s on a full disk: no nonce to retry with", what)
	}
}

// writes follows the answers to writes on a full disk: a refusal starts
// an episode of full storage unless one is going on, and a write that
// succeeds (a small one may still find free pages in the file) ends it.
type writes struct {
	refused, episodes int
	full              bool
}

// note checks one write's answer: ok, or the full disk's.
func (w *writes) note(t *testing.T, what string, r response, ok int) bool {
	t.Helper()
	switch r.status {
	case ok:
		w.full = false
		return false
	case http.StatusServiceUnavailable:
		wantFull(t, what, r)
		if !w.full {
			w.episodes++
		}
		w.full = true
		w.refused++
		return true
	}
	t.Fatalf("%s on a full disk: %d %s", what, r.status, r.body)
	return false
}

// TestStorageFull: on a full disk every ACME write that needs room (new
// order, new account, challenge, finalize) answers as every other door's
// writes do: 503 with Retry-After and a problem saying the storage is
// full, logged once per episode however many requests it refuses. The
// objects stay as they were (the challenge pending, the order ready),
// reads still answer, and once space returns the same requests succeed.
func TestStorageFull(t *testing.T) {
	log := &testlog.Buffer{}
	e := newEnv(t, envOptions{dir: smallfs.Mount(t, "8m"), log: log})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	c.answer(c.newOrder(dns("app.test")))
	// Orders to finalize (ready at once: they reuse the valid
	// authorization) and challenges to answer on the full disk.
	var ready, pending []orderDoc
	var challenges []challengeDoc
	for range 20 {
		ready = append(ready, c.newOrder(dns("app.test")))
		o := c.newOrder(dns("www.app.test"))
		ch := http01(t, c.authz(o.Authorizations[0]))
		e.solver.set(ch.Token, c.keyAuthorization(ch.Token))
		pending, challenges = append(pending, o), append(challenges, ch)
	}
	eab := e.eab("alice") // binds the accounts made on the full disk

	filler := filepath.Join(e.opts.dir, "filler")
	smallfs.Fill(t, filler)
	var w writes
	newOrder := func() response {
		return c.post("/acme/new-order", map[string]any{"identifiers": dns("other.test")}, jwsOptions{})
	}
	// Pages freed by earlier commits may take a few more (and a refused
	// commit may leave room for the next); until refusals follow one
	// another in one episode.
	for i := 0; i < 2000 && w.refused <= w.episodes; i++ {
		w.note(t, "newOrder", newOrder(), http.StatusCreated)
	}
	if w.refused <= w.episodes {
		t.Fatalf("the disk never filled: %d refusals in %d episodes", w.refused, w.episodes)
	}
	untilRefused := func(what string, n, ok int, send func(i int) response) int {
		t.Helper()
		for i := range n {
			if w.note(t, what, send(i), ok) {
				return i
			}
		}
		t.Fatalf("%s: never refused on a full disk", what)
		return 0
	}
	untilRefused("newAccount", 50, http.StatusCreated, func(int) response {
		other := e.newClient(newECKey(t), jose.ES256)
		url := e.url + "/acme/new-account"
		return other.post(url, map[string]any{
			"termsOfServiceAgreed":   true,
			"externalAccountBinding": other.eabJWS(eab, url, other.key.Public()),
		}, jwsOptions{embedJWK: true})
	})
	der, _ := csr(t, "", []string{"app.test"}, nil)
	fin := untilRefused("finalize", len(ready), http.StatusOK, func(i int) response { return c.finalize(ready[i], der) })
	chi := untilRefused("challenge", len(challenges), http.StatusOK, func(i int) response {
		return c.post(challenges[i].URL, struct{}{}, jwsOptions{})
	})
	// Reads answer, and nothing moved on.
	if o := c.order(ready[fin].url); o.Status != "ready" {
		t.Errorf("order %s after a refused finalize, want ready", o.Status)
	}
	if az := c.authz(pending[chi].Authorizations[0]); az.Status != "pending" {
		t.Errorf("authorization %s after a refused challenge, want pending", az.Status)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var got challengeDoc
	c.post(challenges[chi].URL, struct{}{}, jwsOptions{}).want(t, http.StatusOK).json(t, &got)
	if got.Status != "valid" {
		t.Errorf("challenge once space is back: %+v", got)
	}
	var done orderDoc
	c.finalize(ready[fin], der).want(t, http.StatusOK).json(t, &done)
	if done.Status != "valid" || len(c.download(done.Certificate)) != 2 {
		t.Errorf("finalize once space is back: %+v", done)
	}
	newOrder().want(t, http.StatusCreated)

	errorLines, backLines := log.StorageFull(t)
	t.Logf("%d refusals in %d episodes", w.refused, w.episodes)
	if errorLines != w.episodes || backLines != w.episodes {
		t.Errorf("%d error lines and %d recovery lines for %d refusals in %d episodes, want one each per episode",
			errorLines, backLines, w.refused, w.episodes)
	}
}
