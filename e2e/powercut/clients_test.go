package powercut

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"certmaker/internal/binarytest"
)

// kind is a kind of write a client can have acknowledged.
type kind int

const (
	kindSimple kind = iota // POST /api/certificate/request: the server makes the key
	kindCSR                // POST /api/certificate/request-with-csr
	kindACME               // an ACME order answered valid, with its certificate
	kindRevoke             // POST /api/certificate/<id>/revoke
	kinds
)

func (k kind) String() string {
	return [...]string{"simple", "CSR", "ACME", "revocation"}[k]
}

// counts is a number per kind.
type counts [kinds]int

func (c counts) String() string {
	var b strings.Builder
	for k := range kinds {
		fmt.Fprintf(&b, "%s %d, ", k, c[k])
	}
	return strings.TrimSuffix(b.String(), ", ")
}

func (c counts) sum() (n int) {
	for _, v := range c {
		n += v
	}
	return n
}

// issued is a certificate the API answered 200 for.
type issued struct {
	id, name string
	kind     kind
	key      crypto.Signer // the client's key for a CSR; nil when the server made it
}

// order is an ACME order the server reported valid, with the certificate
// the client downloaded.
type order struct {
	client       *acme.Client
	url, certURL string
	name         string
	leaf         []byte
}

// ledger is what the server acknowledged, across rounds: from the answer
// on it must survive anything short of losing the disk. Requests cut off
// by the power cut have no answer and promise nothing.
type ledger struct {
	mu          sync.Mutex
	certs       []issued
	orders      []order
	revoked     []string        // ids whose revocation was answered 200
	revokeTried map[string]bool // ids a revocation was sent for, answered or not
	acked       counts
	cutOff      int
}

func newLedger() *ledger { return &ledger{revokeTried: map[string]bool{}} }

func (l *ledger) counts() counts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

func (l *ledger) addCert(c issued) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.certs = append(l.certs, c)
	l.acked[c.kind]++
}

func (l *ledger) addOrder(o order) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.orders = append(l.orders, o)
	l.acked[kindACME]++
}

func (l *ledger) tryRevoke(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revokeTried[id] = true
}

func (l *ledger) addRevoked(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revoked = append(l.revoked, id)
	l.acked[kindRevoke]++
}

// load runs clients against the server at r.url (client i does kind
// i%4), waits until every kind has been acknowledged at least once and
// then for extra, and calls cut, which must cut the power and kill the
// server. Errors before the cut fail the test; requests the cut
// interrupts (no answer, or an error answer) are counted as cut off. An
// answer of 200 after the cut still counts as acknowledged.
func (r *rig) load(t *testing.T, l *ledger, clients, round int, extra time.Duration, cut func()) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		stopped  atomic.Bool
		wg       sync.WaitGroup
		failures = make(chan error, clients)
	)
	done := func(err error) {
		if stopped.Load() {
			l.mu.Lock()
			l.cutOff++
			l.mu.Unlock()
			return
		}
		failures <- err
	}
	for c := range clients {
		w := worker{r: r, l: l, hc: hc, prefix: fmt.Sprintf("r%d-c%d", round, c)}
		wg.Go(func() {
			var err error
			switch kind(c % int(kinds)) {
			case kindSimple:
				err = w.issueLoop(&stopped, false)
			case kindCSR:
				err = w.issueLoop(&stopped, true)
			case kindACME:
				err = w.acmeLoop(ctx, &stopped, r.acmeNames[(c/int(kinds))%len(r.acmeNames)])
			case kindRevoke:
				err = w.revokeLoop(&stopped)
			}
			if err != nil {
				done(err)
			}
		})
	}

	base := l.counts()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := l.counts()
		ready := true
		for k := range kinds {
			ready = ready && (got[k] > base[k] || clients <= int(k))
		}
		if ready {
			break
		}
		if time.Now().After(deadline) || len(failures) > 0 {
			t.Errorf("round %d: not every kind of write was acknowledged in 30 s: %v in all, %v before the round", round, got, base)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(extra)
	stopped.Store(true)
	cut()
	cancel()
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Errorf("round %d, before the cut: %v", round, err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// worker is one client.
type worker struct {
	r      *rig
	l      *ledger
	hc     *http.Client
	prefix string
	n      int
}

func (w *worker) name() string {
	w.n++
	return fmt.Sprintf("%s-%d.powercut.lan", w.prefix, w.n)
}

func (w *worker) issueLoop(stopped *atomic.Bool, withCSR bool) error {
	for !stopped.Load() {
		c, err := w.issue(withCSR)
		if err != nil {
			return err
		}
		w.l.addCert(c)
	}
	return nil
}

// revokeLoop issues a certificate (acknowledged as a simple request) and
// revokes it, over and over.
func (w *worker) revokeLoop(stopped *atomic.Bool) error {
	for !stopped.Load() {
		c, err := w.issue(false)
		if err != nil {
			return err
		}
		w.l.addCert(c)
		w.l.tryRevoke(c.id)
		code, body, err := w.do("POST", "/api/certificate/"+c.id+"/revoke", `{"reason":"keyCompromise"}`)
		if err != nil {
			return fmt.Errorf("revoking %s: %w", c.id, err)
		}
		if code != 200 {
			return fmt.Errorf("revoking %s: %d %s", c.id, code, body)
		}
		w.l.addRevoked(c.id)
	}
	return nil
}

// issue asks for one certificate; only a complete 200 answer with an id
// counts as acknowledged.
func (w *worker) issue(withCSR bool) (issued, error) {
	c := issued{name: w.name(), kind: kindSimple}
	path, body := "/api/certificate/request", `{"domains":["`+c.name+`"]}`
	if withCSR {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return c, err
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{c.name}}, key)
		if err != nil {
			return c, err
		}
		c.kind, c.key = kindCSR, key
		path, body = "/api/certificate/request-with-csr", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}
	code, b, err := w.do("POST", path, body)
	if err != nil {
		return c, fmt.Errorf("%s: %w", c.name, err)
	}
	if code != 200 {
		return c, fmt.Errorf("%s: %d %s", c.name, code, b)
	}
	c.id = strings.TrimSpace(b)
	if _, ok := new(big.Int).SetString(c.id, 10); !ok {
		return c, fmt.Errorf("%s: 200 with body %q, not an id", c.name, b)
	}
	return c, nil
}

func (w *worker) do(method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, w.r.url+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Auth-Token", w.r.token)
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// acmeLoop registers a new account (with alice's EAB key) and orders
// certificates for name until the cut.
func (w *worker) acmeLoop(ctx context.Context, stopped *atomic.Bool, name string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	cl := &acme.Client{Key: key, DirectoryURL: w.r.url + "/acme/directory", HTTPClient: w.hc, UserAgent: "certmaker-powercut"}
	eab := &acme.ExternalAccountBinding{KID: w.r.eabKID, Key: w.r.eabKey}
	if _, err := cl.Register(ctx, &acme.Account{ExternalAccountBinding: eab}, acme.AcceptTOS); err != nil {
		return fmt.Errorf("ACME account: %w", err)
	}
	for !stopped.Load() {
		o, err := w.acmeOrder(ctx, cl, name)
		if err != nil {
			return fmt.Errorf("ACME order for %s: %w", name, err)
		}
		w.l.addOrder(o)
	}
	return nil
}

// acmeOrder runs one order through http-01 to its certificate.
func (w *worker) acmeOrder(ctx context.Context, cl *acme.Client, name string) (order, error) {
	o, err := binarytest.ReadyOrder(ctx, cl, w.r.solver, name)
	if err != nil {
		return order{}, err
	}
	chain, certURL, err := binarytest.Finalize(ctx, cl, o, name)
	if err != nil {
		return order{}, err
	}
	return order{client: cl, url: o.URI, certURL: certURL, name: name, leaf: chain[0]}, nil
}
