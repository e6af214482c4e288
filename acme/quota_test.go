package acme_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"certmaker/config"
	"certmaker/internal/testlog"
)

// TestNewOrder_AccountCap: one account's live orders name at most 300
// identifiers together ([acme] max_account_identifiers): beyond that a
// newOrder is rateLimited (429) with Retry-After saying when the first of
// them expires (RFC 8555 6.6), whoever the account is, and nothing is
// stored for it; another account orders as before.
func TestNewOrder_AccountCap(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	names := manyNames(301)
	for i := range 3 {
		c.newOrder(dns(names[i*100 : (i+1)*100]...))
	}
	r := c.post("/acme/new-order", map[string]any{"identifiers": dns(names[300])}, jwsOptions{})
	p := r.wantProblem(t, http.StatusTooManyRequests, "rateLimited")
	if !strings.Contains(p.Detail, "max_account_identifiers") {
		t.Errorf("detail %q does not name the setting", p.Detail)
	}
	// The orders expire in a day (challenge.expiry), the first of them
	// in a little less.
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 23*3600 || s > 24*3600 {
		t.Errorf("Retry-After %q, want the time until the first order expires", r.header.Get("Retry-After"))
	}
	other := e.newClient(newECKey(t), jose.ES256)
	other.register("alice")
	other.newOrder(dns("app.test"))
	e.close()
	if counts, _ := records(t, e.dbPath); counts["acme_orders"] != 4 || counts["acme_authzs"] != 301 {
		t.Errorf("%d orders and %d authorizations stored, want 4 and 301", counts["acme_orders"], counts["acme_authzs"])
	}
}

// postFrom is post sent from the loopback address src.
func (c *client) postFrom(src, url string, payload any, o jwsOptions) response {
	c.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	req, err := http.NewRequest(http.MethodPost, absolute(c.e, url), strings.NewReader(string(c.sign(absolute(c.e, url), body, o))))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/jose+json")
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Skipf("cannot send from %s: %v", src, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if n := resp.Header.Get("Replay-Nonce"); n != "" {
		c.nonce = n
	}
	return response{resp.StatusCode, resp.Header, b}
}

// TestNewAccount_UnboundRate: accounts without a binding cost nothing to
// make, so one client address (an IPv6 client by its /64) makes at most
// 10 an hour; the next is rateLimited with Retry-After and stores
// nothing. Other addresses, a key that has an account already, and
// accounts with a binding are not held back.
func TestNewAccount_UnboundRate(t *testing.T) {
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob"})
	signup := func(src string) (*client, response) {
		c := e.newClient(newECKey(t), jose.ES256)
		return c, c.postFrom(src, "/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true})
	}
	var first *client
	for i := range 10 {
		c, r := signup("127.0.0.1")
		r.want(t, http.StatusCreated)
		if i == 0 {
			first = c
		}
	}
	_, r := signup("127.0.0.1")
	r.wantProblem(t, http.StatusTooManyRequests, "rateLimited")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// The key that has an account finds it.
	first.postFrom("127.0.0.1", "/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).want(t, http.StatusOK)
	_, r = signup("127.0.0.2")
	r.want(t, http.StatusCreated)
	bound := e.newClient(newECKey(t), jose.ES256)
	bound.register("alice")
	e.close()
	if counts, _ := records(t, e.dbPath); counts["acme_accounts"] != 12 {
		t.Errorf("%d accounts stored, want 12", counts["acme_accounts"])
	}
}

// TestAccountOrders_Pages: the account's orders list comes in pages of
// 100, each with a Link to the next (RFC 8555 7.1.2.1).
func TestAccountOrders_Pages(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	names := manyNames(150)
	want := map[string]bool{}
	for i := range 3 {
		want[c.newOrder(dns(names[i*50:(i+1)*50]...)).url] = true
	}
	for i := range 147 {
		o := c.newOrder(dns(fmt.Sprintf("n%d.localhost", i)))
		want[o.url] = true
	}
	got := map[string]bool{}
	url, pages := c.kid+"/orders", 0
	for url != "" {
		var list struct {
			Orders []string `json:"orders"`
		}
		r := c.post(url, nil, jwsOptions{}).want(t, http.StatusOK)
		r.json(t, &list)
		if len(list.Orders) > 100 {
			t.Fatalf("a page of %d orders", len(list.Orders))
		}
		for _, o := range list.Orders {
			if got[o] {
				t.Errorf("order %s listed twice", o)
			}
			got[o] = true
		}
		url = ""
		for _, l := range r.header.Values("Link") {
			if u, ok := strings.CutSuffix(l, `>;rel="next"`); ok {
				url = strings.TrimPrefix(u, "<")
			}
		}
		if pages++; pages > 3 {
			t.Fatal("more pages than orders")
		}
	}
	if pages != 2 || len(got) != len(want) {
		t.Errorf("%d orders in %d pages, want %d in 2", len(got), pages, len(want))
	}
	for o := range want {
		if !got[o] {
			t.Errorf("order %s not listed", o)
		}
	}
}

// TestNewAccount_UnboundCap: accounts without a binding are at most
// [acme] max_unbound_accounts at a time, deactivated ones too (the sweep
// deletes them once idle, TestSweep_Unbound); past it a new one is
// rateLimited with Retry-After, one warning says so in the log however
// many are refused, and accounts with a binding are still made.
func TestNewAccount_UnboundCap(t *testing.T) {
	logs := &testlog.Buffer{}
	e := newEnv(t, envOptions{noEAB: true, defaultUser: "bob", log: logs,
		configure: func(c *config.Config) { c.ACME.MaxUnboundAccounts = 3 }})
	for i := range 3 {
		c := e.newClient(newECKey(t), jose.ES256)
		r := c.postFrom(fmt.Sprintf("127.0.0.%d", i+1), "/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true}).want(t, http.StatusCreated)
		if i == 0 { // deactivated, it still counts
			c.kid = r.header.Get("Location")
			c.post(c.kid, map[string]string{"status": "deactivated"}, jwsOptions{}).want(t, http.StatusOK)
		}
	}
	for i := range 3 {
		c := e.newClient(newECKey(t), jose.ES256)
		r := c.postFrom(fmt.Sprintf("127.0.0.%d", i+4), "/acme/new-account", map[string]any{"termsOfServiceAgreed": true}, jwsOptions{embedJWK: true})
		p := r.wantProblem(t, http.StatusTooManyRequests, "rateLimited")
		if !strings.Contains(p.Detail, "max_unbound_accounts") {
			t.Errorf("detail %q does not name the setting", p.Detail)
		}
		if r.header.Get("Retry-After") == "" {
			t.Error("no Retry-After at the cap")
		}
	}
	if n := len(logs.Messages(t, "ACME accounts without a binding reached [acme] max_unbound_accounts: new ones are refused (raise it, or hand out EAB keys with `certmaker user acme-eab`)")); n != 1 {
		t.Errorf("%d warnings logged for the cap, want 1", n)
	}
	bound := e.newClient(newECKey(t), jose.ES256)
	bound.register("alice")
	e.close()
	if counts, _ := records(t, e.dbPath); counts["acme_accounts"] != 4 {
		t.Errorf("%d accounts stored, want 4", counts["acme_accounts"])
	}
}

// TestSweep_ACME: orders that were never finished and their
// authorizations are deleted a retention after they expire, by the
// sweep serve runs hourly; a finalized order stays with its certificate,
// which its account still downloads, and the account's cap counts afresh.
func TestSweep_ACME(t *testing.T) {
	clk := &clock{}
	e := newEnv(t, envOptions{clock: clk, configure: func(c *config.Config) { c.ACME.MaxAccountIdentifiers = 150 }})
	c := e.newClient(newECKey(t), jose.ES256)
	c.register("alice")
	done, chain, _ := c.obtain(dns("app.test"))
	c.newOrder(dns(manyNames(100)...))
	abandoned := c.newOrder(dns("www.app.test"))
	c.answer(abandoned) // ready, never finalized
	p := c.post("/acme/new-order", map[string]any{"identifiers": dns(manyNames(60)...)}, jwsOptions{}).
		wantProblem(t, http.StatusTooManyRequests, "rateLimited")
	if !strings.Contains(p.Detail, "max_account_identifiers") {
		t.Errorf("detail %q", p.Detail)
	}
	// Within the retention nothing goes.
	clk.advance(25 * time.Hour)
	if n, err := e.app.Core.SweepACME(t.Context()); err != nil || n != 0 {
		t.Fatalf("SweepACME within the retention = %d, %v; want nothing", n, err)
	}
	// Expired orders no longer count against the cap.
	c.newOrder(dns(manyNames(100)...))
	clk.advance(24 * time.Hour)
	n, err := e.app.Core.SweepACME(t.Context())
	// The 100-name order and its authorizations, the abandoned order and
	// its authorization, the finalized order's authorization.
	if err != nil || n != 101+2+1 {
		t.Errorf("SweepACME = %d, %v; want 104", n, err)
	}
	var list struct {
		Orders []string `json:"orders"`
	}
	c.post(c.kid+"/orders", nil, jwsOptions{}).want(t, http.StatusOK).json(t, &list)
	if len(list.Orders) != 2 || !slices.Contains(list.Orders, done.url) {
		t.Errorf("orders after the sweep %v, want the finalized one and the newest", list.Orders)
	}
	if got := c.download(done.Certificate); len(got) == 0 || got[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 {
		t.Error("the finalized order's certificate is gone")
	}
	c.post(abandoned.url, nil, jwsOptions{}).wantProblem(t, http.StatusNotFound, "malformed")
	e.close()
	counts, _ := records(t, e.dbPath)
	if counts["acme_orders"] != 2 || counts["acme_authzs"] != 100 || counts["acme_account_orders"] != 2 || counts["acme_account_expiry"] != 1 {
		t.Errorf("left %d orders, %d authorizations, %d order and %d expiry index entries; want 2, 100, 2, 1",
			counts["acme_orders"], counts["acme_authzs"], counts["acme_account_orders"], counts["acme_account_expiry"])
	}
}
