package notify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"certmaker/internal/testdb"
	"certmaker/notify"
	"certmaker/store"
)

// clock is an injectable, settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// receiver is a webhook on loopback that records what it accepted and
// fails the first `fail` requests with 500.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	fail     int
	tries    int
	accepted []request
}

type request struct {
	header http.Header
	query  string
	body   []byte
}

func newReceiver(t *testing.T, fail int) *receiver {
	t.Helper()
	r := &receiver{fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries++
		if req.Method != http.MethodPost {
			http.Error(w, "post only", http.StatusMethodNotAllowed)
			return
		}
		if r.fail > 0 {
			r.fail--
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		r.accepted = append(r.accepted, request{header: req.Header.Clone(), query: req.URL.RawQuery, body: body})
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() ([]request, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.accepted...), r.tries
}

func (r *receiver) events(t *testing.T) []notify.Event {
	t.Helper()
	reqs, _ := r.got()
	var out []notify.Event
	for _, q := range reqs {
		var e notify.Event
		if err := json.Unmarshal(q.body, &e); err != nil {
			t.Fatalf("receiver got %q: %v", q.body, err)
		}
		out = append(out, e)
	}
	return out
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := testdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// putCert stores a certificate of owner for names, issued at created and
// valid for life.
func putCert(t *testing.T, db *store.DB, owner string, created time.Time, life time.Duration, names ...string) *store.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Certificate{
		Serial: serial.Add(serial, big.NewInt(1)), DER: []byte{0x30, 0x00}, Owner: owner, Root: "ab12",
		KeyType: "ecdsa-p256", Names: names, Created: created, NotAfter: created.Add(life),
	}
	if err := db.PutCertificate(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func newNotifier(t *testing.T, db *store.DB, clk *clock, cfg notify.Config) *notify.Notifier {
	t.Helper()
	cfg.Store, cfg.Now, cfg.PublicURL = db, clk.Now, "https://ca.home.lan"
	if cfg.Backoff == 0 {
		cfg.Backoff = 5 * time.Millisecond
	}
	n, err := notify.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func check(t *testing.T, n *notify.Notifier) {
	t.Helper()
	if err := n.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNotifier_OnceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ca.db")
	db := openStore(t, path)
	recv := newReceiver(t, 0)
	clk := &clock{now: base}
	// Three days: its window is the last one.
	c := putCert(t, db, "alice", base, 72*time.Hour, "nas.home.lan", "files.home.lan")
	n := newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL + "/hook"}})

	clk.Set(base.Add(47 * time.Hour))
	check(t, n)
	if ev := recv.events(t); len(ev) != 0 {
		t.Fatalf("before its window: %d messages", len(ev))
	}

	clk.Set(base.Add(49 * time.Hour))
	check(t, n)
	check(t, n)
	ev := recv.events(t)
	if len(ev) != 1 {
		t.Fatalf("in its window, two checks: %d messages, want 1", len(ev))
	}
	e := ev[0]
	if e.Kind != notify.KindCertificate || e.Certificate == nil || e.Certificate.ID != c.Serial.String() ||
		e.Certificate.Owner != "alice" || e.DaysLeft != 0 || !e.NotAfter.Equal(c.NotAfter) ||
		e.URL != "https://ca.home.lan/certificates/"+c.Serial.String() || !strings.Contains(e.Title, "nas.home.lan") {
		t.Errorf("message %+v", e)
	}

	// A restart: the store remembers.
	db.Close()
	db = openStore(t, path)
	clk.Set(base.Add(50 * time.Hour))
	check(t, newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL + "/hook"}}))
	if ev := recv.events(t); len(ev) != 1 {
		t.Fatalf("after a restart: %d messages, want still 1", len(ev))
	}

	// A second webhook added later gets it too, once.
	other := newReceiver(t, 0)
	n = newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL + "/hook", other.URL}})
	check(t, n)
	check(t, n)
	if a, b := len(recv.events(t)), len(other.events(t)); a != 1 || b != 1 {
		t.Errorf("after adding a webhook: %d and %d messages, want 1 and 1", a, b)
	}
}

func TestNotifier_WarnDays(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	recv := newReceiver(t, 0)
	clk := &clock{now: base}
	putCert(t, db, "alice", base, 30*24*time.Hour, "nas.home.lan")
	n := newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL}, WarnDays: 5})

	clk.Set(base.Add(24*time.Hour*24 + 23*time.Hour)) // 5 days and 1 hour left
	check(t, n)
	if len(recv.events(t)) != 0 {
		t.Fatal("announced before warn_days")
	}
	clk.Set(base.Add(25 * 24 * time.Hour))
	check(t, n)
	if ev := recv.events(t); len(ev) != 1 || ev[0].DaysLeft != 5 {
		t.Fatalf("at warn_days: %+v", ev)
	}
}

func TestNotifier_Retry(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	recv := newReceiver(t, 2)
	clk := &clock{now: base.Add(49 * time.Hour)}
	putCert(t, db, "alice", base, 72*time.Hour, "nas.home.lan")
	var logs bytes.Buffer
	n := newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	check(t, n)
	check(t, n)
	reqs, tries := recv.got()
	if len(reqs) != 1 || tries != 3 {
		t.Fatalf("a receiver failing twice: %d accepted in %d tries, want 1 in 3", len(reqs), tries)
	}
	if got := strings.Count(logs.String(), "retrying"); got != 2 {
		t.Errorf("%d retries logged, want 2:\n%s", got, logs.String())
	}
}

func TestNotifier_DownWebhook(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	down := newReceiver(t, 1000)
	up := newReceiver(t, 0)
	clk := &clock{now: base.Add(49 * time.Hour)}
	putCert(t, db, "alice", base, 72*time.Hour, "a.home.lan")
	putCert(t, db, "alice", base, 72*time.Hour+time.Minute, "b.home.lan")
	n := newNotifier(t, db, clk, notify.Config{URLs: []string{down.URL, up.URL}, Attempts: 3})

	check(t, n)
	if got := len(up.events(t)); got != 2 {
		t.Errorf("the working webhook got %d messages, want 2", got)
	}
	// The down one gave up after 3 tries of the first message and left
	// the second for the next check.
	if _, tries := down.got(); tries != 3 {
		t.Errorf("the down webhook was tried %d times, want 3", tries)
	}
	down.mu.Lock()
	down.fail = 0
	down.mu.Unlock()
	check(t, n)
	if got, up := len(down.events(t)), len(up.events(t)); got != 2 || up != 2 {
		t.Errorf("once back: %d messages (the other %d), want 2 (2)", got, up)
	}
}

func TestNotifier_NotRevokedNorRenewed(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	recv := newReceiver(t, 0)
	clk := &clock{now: base.Add(49 * time.Hour)}
	revoked := putCert(t, db, "alice", base, 72*time.Hour, "revoked.home.lan")
	if _, err := db.Revoke(revoked.Serial, base, 1); err != nil {
		t.Fatal(err)
	}
	// Renewed a day later for the same names (in another order).
	putCert(t, db, "alice", base, 72*time.Hour, "nas.home.lan", "files.home.lan")
	renewal := putCert(t, db, "alice", base.Add(24*time.Hour), 72*time.Hour, "files.home.lan", "nas.home.lan")
	// Not renewals: another owner's, fewer names, a revoked one.
	bobs := putCert(t, db, "alice", base, 72*time.Hour, "bob.home.lan")
	putCert(t, db, "bob", base.Add(24*time.Hour), 72*time.Hour, "bob.home.lan")
	fewer := putCert(t, db, "alice", base, 72*time.Hour, "x.home.lan", "y.home.lan")
	putCert(t, db, "alice", base.Add(24*time.Hour), 72*time.Hour, "x.home.lan")
	gone := putCert(t, db, "alice", base, 72*time.Hour, "z.home.lan")
	rev := putCert(t, db, "alice", base.Add(24*time.Hour), 72*time.Hour, "z.home.lan")
	if _, err := db.Revoke(rev.Serial, base, 1); err != nil {
		t.Fatal(err)
	}
	n := newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL}})

	check(t, n)
	got := map[string]bool{}
	for _, e := range recv.events(t) {
		got[e.Certificate.ID] = true
	}
	want := map[string]bool{bobs.Serial.String(): true, fewer.Serial.String(): true, gone.Serial.String(): true}
	if len(got) != len(want) {
		t.Errorf("announced %v, want %v", got, want)
	}
	for id := range want {
		if !got[id] {
			t.Errorf("%s was not announced", id)
		}
	}

	// The renewal is announced when its own window comes.
	clk.Set(base.Add(73 * time.Hour))
	check(t, n)
	found := false
	for _, e := range recv.events(t) {
		found = found || e.Certificate.ID == renewal.Serial.String()
	}
	if !found {
		t.Error("the renewal was not announced in its own window")
	}
}

func TestNotifier_Root(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	recv := newReceiver(t, 0)
	clk := &clock{now: base}
	root := &notify.Root{Fingerprint: "ab12cd", Cert: &x509.Certificate{
		Subject: pkix.Name{CommonName: "certmaker Root CA"}, NotAfter: base.Add(400 * 24 * time.Hour),
	}}
	n := newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL}, RootWarnDays: 365,
		ActiveRoot: func() *notify.Root { return root }})

	check(t, n)
	if len(recv.events(t)) != 0 {
		t.Fatal("root announced 400 days before its end")
	}
	clk.Set(base.Add(40 * 24 * time.Hour))
	check(t, n)
	check(t, n)
	ev := recv.events(t)
	if len(ev) != 1 || ev[0].Kind != notify.KindRoot || ev[0].Root.Fingerprint != "ab12cd" || ev[0].DaysLeft != 360 ||
		ev[0].URL != "https://ca.home.lan/trust" {
		t.Fatalf("root messages %+v", ev)
	}
}

func TestNotifier_Formats(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	clk := &clock{now: base.Add(49 * time.Hour)}
	c := putCert(t, db, "alice", base, 72*time.Hour, "nas.home.lan")

	t.Run("ntfy", func(t *testing.T) {
		recv := newReceiver(t, 0)
		check(t, newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL + "/certmaker"}, Format: "ntfy"}))
		reqs, _ := recv.got()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		h := reqs[0].header
		if !strings.Contains(h.Get("Title"), "nas.home.lan") || h.Get("Click") != "https://ca.home.lan/certificates/"+c.Serial.String() ||
			h.Get("Tags") != "warning" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") || !bytes.Contains(reqs[0].body, []byte("owner alice")) {
			t.Errorf("ntfy request %v %q", h, reqs[0].body)
		}
	})
	t.Run("gotify", func(t *testing.T) {
		recv := newReceiver(t, 0)
		check(t, newNotifier(t, db, clk, notify.Config{URLs: []string{recv.URL + "/message?token=Aabc"}, Format: "gotify"}))
		reqs, _ := recv.got()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		var m struct {
			Title, Message string
			Priority       int
			Extras         map[string]map[string]map[string]string
		}
		if err := json.Unmarshal(reqs[0].body, &m); err != nil || reqs[0].query != "token=Aabc" {
			t.Fatalf("gotify request %s?%s: %v", reqs[0].body, reqs[0].query, err)
		}
		if !strings.Contains(m.Title, "nas.home.lan") || m.Priority != 5 || m.Extras["client::notification"]["click"]["url"] == "" {
			t.Errorf("gotify message %+v", m)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		if _, err := notify.New(notify.Config{URLs: []string{"http://127.0.0.1/"}, Format: "slack", Store: db}); err == nil {
			t.Error("format slack accepted")
		}
	})
}

// A webhook URL's path and query may be secrets: an error, a retry or a
// failure never logs them.
func TestNotifier_SecretsNotLogged(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	clk := &clock{now: base.Add(49 * time.Hour)}
	putCert(t, db, "alice", base, 72*time.Hour, "nas.home.lan")
	failing := newReceiver(t, 1000)
	// A port nothing listens on: the client's error names the URL.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	var logs bytes.Buffer
	const secret = "tk_s3cr3tt0ken"
	urls := []string{failing.URL + "/" + secret, closed.URL + "/topic?auth=" + secret, "http://user:" + secret + "@" + strings.TrimPrefix(failing.URL, "http://")}
	n := newNotifier(t, db, clk, notify.Config{URLs: urls, Attempts: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	check(t, n)
	for _, r := range n.Test(context.Background()) {
		if r.Err == nil || strings.Contains(r.Err.Error(), secret) || strings.Contains(r.Webhook, secret) {
			t.Errorf("test result %q: %v", r.Webhook, r.Err)
		}
	}
	if !strings.Contains(logs.String(), "delivery failed") {
		t.Fatalf("no failure logged:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log holds a webhook secret:\n%s", logs.String())
	}
	if _, err := notify.New(notify.Config{URLs: []string{"ftp://x/" + secret}, Store: db}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("a bad URL: %v", err)
	}
}

func TestNotifier_Test(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "ca.db"))
	recv := newReceiver(t, 0)
	n := newNotifier(t, db, &clock{now: base}, notify.Config{URLs: []string{recv.URL + "/x"}})
	res := n.Test(context.Background())
	if len(res) != 1 || res[0].Err != nil || res[0].Webhook != recv.URL+"/…" {
		t.Fatalf("Test = %+v", res)
	}
	if ev := recv.events(t); len(ev) != 1 || ev[0].Kind != notify.KindTest {
		t.Fatalf("received %+v", ev)
	}
}
