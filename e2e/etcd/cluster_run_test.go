package etcd

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
	xocsp "golang.org/x/crypto/ocsp"

	"certmaker/challenge"
	"certmaker/etcdstore"
	"certmaker/internal/binarytest"
	"certmaker/storage"
)

// TestCluster is certmaker on three members of Debian's etcd and three
// nodes started at the same moment behind one balancer (the public URL).
// It checks each promise of a cluster through the nodes, as clients and
// operators meet them: one root and one admin at the first start; admin
// commands on every node; a user disabled or re-tokened through one node
// refused by another within a second; a dashboard session signed in
// through one node good on the others and ended everywhere; a revocation
// through one node in another's next OCSP answer; CRL numbers growing
// across nodes; an ACME nonce taken once across the cluster; a finalize
// claimed once; rotate-root, intermediate rotate and intermediate revoke
// through one node used by the others within a second. Then clients
// issue through the token API and ACME while the etcd leader and a node
// are SIGKILLed and restarted; then etcd loses its quorum (SIGSTOP) and
// gets it back; then a rekey through one node. At the end every
// acknowledged certificate is there, with its key, its index entries, in
// its owner's count, under its own serial. A second store on the same
// etcd, with challenges required, holds the challenge promises: the
// pending cap across nodes, and a challenge solved once.
func TestCluster(t *testing.T) {
	c := startCluster(t, 3)
	f := newFleet(t, c, "/certmaker/", 3, "")
	ctx := context.Background()

	// The first start: three nodes at once make one root and one admin.
	f.startAll()
	var admins int
	for _, nd := range f.nodes {
		if nd.srv.Token != "" {
			admins++
		}
	}
	for i := range f.nodes {
		if r := f.roots(i); len(r) != 1 || !f.intermediate(i).Equal(f.intermediate(0)) {
			t.Fatalf("nodes started at once: node %d has %d roots and another intermediate than node 0's", i, len(r))
		}
	}
	if admins != 1 {
		t.Fatalf("%d nodes printed an admin token at the first start, want 1", admins)
	}
	if users := f.cli(0, "user", "list"); strings.Count(users, "admin") != 1 {
		t.Fatalf("users after the first start:\n%s", users)
	}
	t.Log("first start: one root, one admin")

	// Admin commands work on each node, through its own socket.
	alice := strings.TrimSpace(f.cli(0, "user", "add", "alice"))
	bob := strings.TrimSpace(f.cli(1, "user", "add", "bob"))
	for i := range f.nodes {
		if out := f.cli(i, "user", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
			t.Fatalf("user list on node %d:\n%s", i, out)
		}
		f.cli(i, "status")
	}

	// A user disabled or re-tokened through one node, refused by another.
	bob, err := tokensRefused(t, f, "bob", bob, 0, 1)
	if err != nil {
		t.Fatal(err)
	}

	// A dashboard session works whichever node answers, and ends on all.
	d := f.signIn(2, 0, alice)
	for i := range f.nodes {
		if code, body := d.page(i, "/certificates"); code != 200 || !strings.Contains(body, "alice") {
			t.Fatalf("alice's session on node %d: %d", i, code)
		}
	}
	if code := d.post(1, "/signout", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("signing out on node 1: %d", code)
	}
	for i := range f.nodes {
		if code, _ := d.page(i, "/certificates"); code != http.StatusSeeOther {
			t.Fatalf("the session signed out on node 1 still works on node %d: %d", i, code)
		}
	}
	t.Log("dashboard sessions: any node, ended on all")

	// A revocation through one node is in another's next OCSP answer;
	// CRL numbers grow whichever node signs.
	var crlNumbers []*big.Int
	var revoked []issued
	for k := range 3 {
		at, via, asked := k, (k+1)%3, (k+2)%3
		ci := f.issue(at, alice, fmt.Sprintf("ocsp%d.cluster.lan", k))
		if st, _ := f.ocsp(asked, ci); st != xocsp.Good {
			t.Fatalf("OCSP of node %d for a new certificate: %d", asked, st)
		}
		if code, _, b := f.do(via, "POST", "/api/certificate/"+ci.ID+"/revoke", alice, `{"reason":"keyCompromise"}`); code != 200 {
			t.Fatalf("revoking through node %d: %d %s", via, code, b)
		}
		if st, _ := f.ocsp(asked, ci); st != xocsp.Revoked {
			t.Fatalf("node %d's next OCSP answer after a revocation through node %d: %d, want revoked", asked, via, st)
		}
		revoked = append(revoked, ci)
		l := f.crl(asked, "/api/crl")
		for _, r := range revoked {
			if !lists(l, r.leaf.SerialNumber) {
				t.Fatalf("node %d's CRL %s lacks a certificate revoked through node %d", asked, l.Number, via)
			}
		}
		if n := len(crlNumbers); n > 0 && l.Number.Cmp(crlNumbers[n-1]) <= 0 {
			t.Fatalf("CRL numbers across nodes: %v then %s", crlNumbers, l.Number)
		}
		crlNumbers = append(crlNumbers, l.Number)
	}
	t.Logf("OCSP: revocations through one node answered by the next; CRL numbers across nodes %v", crlNumbers)

	// An ACME nonce is taken once across the cluster: one node's nonce
	// works on another, and the same request on a third is told badNonce,
	// with a fresh nonce to go on with.
	key := newECKey()
	nonce := f.nonceFrom(0)
	code, typ, _ := f.jwsPost(1, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`)
	if strings.HasSuffix(typ, ":badNonce") || code == 0 {
		t.Fatalf("node 0's nonce on node 1: %d %s", code, typ)
	}
	code, typ, fresh := f.jwsPost(2, key, nonce, "/acme/new-account", `{"onlyReturnExisting":true}`)
	if code != http.StatusBadRequest || !strings.HasSuffix(typ, ":badNonce") || fresh == "" {
		t.Fatalf("the same nonce again, on node 2: %d %s, Replay-Nonce %q", code, typ, fresh)
	}
	t.Log("ACME: a nonce is taken once across nodes")

	// ACME clients whose requests land on every node complete orders; a
	// finalize sent through all three at once is claimed once.
	eab := f.eab(2, "alice")
	cl, err := f.acmeClient(ctx, eab)
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.acmeOnce(ctx, cl, acmeNames[0])
	if err != nil {
		t.Fatal(err)
	}
	acmeAcked := []acmeCert{first}
	claimed := acmeNames[len(acmeNames)-1]
	o, err := f.readyOrder(ctx, cl, claimed)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var finals [][]byte
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			der, err := finalize(ctx, cl, o, claimed)
			if err != nil {
				t.Logf("a concurrent finalize: %v", err)
				return
			}
			mu.Lock()
			finals = append(finals, der)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(finals) == 0 {
		t.Fatal("no concurrent finalize got the certificate")
	}
	for _, der := range finals[1:] {
		if !bytes.Equal(der, finals[0]) {
			t.Fatal("concurrent finalizes of one order answered with different certificates")
		}
	}
	acmeAcked = append(acmeAcked, acmeCert{name: claimed, der: finals[0]})
	t.Logf("ACME: orders through every node; %d of 3 concurrent finalizes answered, with one certificate", len(finals))
	acmeCapAcrossNodes(t, f, eab)

	// rotate-root, intermediate rotate and intermediate revoke through
	// one node, used by the others within a second.
	newRoot := hexFP(f.cli(0, "rotate-root", "--yes"))
	start := time.Now()
	rootCert := f.roots(0)[newRoot]
	if rootCert == nil {
		t.Fatalf("rotate-root printed %s, which /roots.pem lacks", newRoot)
	}
	for _, i := range []int{1, 2} {
		within(t, start, withinASecond, fmt.Sprintf("node %d signing under the root rotated on node 0", i), func() bool {
			return f.intermediate(i).CheckSignatureFrom(rootCert) == nil
		})
	}
	under := f.issue(2, alice, "rotated.cluster.lan")
	if err := under.issuer.CheckSignatureFrom(rootCert); err != nil {
		t.Fatalf("node 2 issues under another root than the one rotated on node 0: %v", err)
	}
	oldIntermediate := fingerprint(under.issuer.Raw)
	if st, _ := f.ocsp(0, under); st != xocsp.Good {
		t.Fatalf("OCSP before the intermediate's revocation: %d", st)
	}
	newIntermediate := hexFP(f.cli(1, "intermediate", "rotate"))
	start = time.Now()
	for _, i := range []int{0, 2} {
		within(t, start, withinASecond, fmt.Sprintf("node %d issuing from the intermediate rotated on node 1", i), func() bool {
			return fingerprint(f.issue(i, alice, "intermediate.cluster.lan").issuer.Raw) == newIntermediate
		})
	}
	f.cli(2, "intermediate", "revoke", oldIntermediate)
	start = time.Now()
	within(t, start, withinASecond, "node 0's OCSP saying a leaf of the intermediate revoked on node 2 is revoked", func() bool {
		st, _ := f.ocsp(0, under)
		return st == xocsp.Revoked
	})
	within(t, start, withinASecond, "node 1's root CRL listing the intermediate revoked on node 2", func() bool {
		return lists(f.crl(1, "/api/crl/"+newRoot), under.issuer.SerialNumber)
	})

	// Clients issue through every node, by the token API and by ACME,
	// while the etcd leader and a node are SIGKILLed and restarted.
	urls := make([]string, len(f.nodes))
	for i, nd := range f.nodes {
		urls[i] = nd.url
	}
	l := startLoad(urls, alice, 4)
	stopACME, acmeLoad := f.acmeLoad(ctx, eab, 2)
	l.waitAcked(t, 20, "before the kills")
	leader := c.waitLeader(t, nil)
	c.kill(t, leader)
	f.kill(1)
	t.Logf("killed etcd leader %s and certmaker node 1 after %d acknowledged", leader.name, l.ackedCount())
	c.waitLeader(t, leader)
	l.waitAcked(t, l.ackedCount()+20, "with the leader and a node down")
	c.start(t, leader)
	f.start(1)
	c.waitLeader(t, nil)
	l.waitAckedVia(t, 1, l.ackedVia(1)+10, "through the restarted node")
	acked, refused, failures := l.stop()
	for _, msg := range failures {
		t.Error(msg)
	}
	acmeDone := stopACME()
	acmeAcked = append(acmeAcked, acmeDone...)
	t.Logf("%d acknowledged through the token API and %d ACME orders through 3 nodes; %d refused or cut off while etcd or a node was down (ACME: %d errors)",
		len(acked), len(acmeDone), refused, acmeLoad.Load())
	if len(acmeDone) == 0 {
		t.Error("no ACME order completed under load")
	}

	// etcd loses its quorum: what a node holds is served (OCSP for a
	// certificate asked before, the roots, the CRL), writes are refused
	// with 503 and Retry-After and logged once; nothing acknowledged is
	// lost when the members come back.
	_, ocspBefore := f.ocsp(0, revoked[0])
	crlBefore := f.crl(0, "/api/crl")
	rootsBefore := f.roots(0)
	logFrom := len(f.nodes[0].srv.Stderr.String())
	stopped := c.members[:2]
	for _, m := range stopped {
		m.cmd.Process.Signal(syscall.SIGSTOP)
	}
	t.Log("etcd has lost its quorum (two members stopped)")
	if st, der := f.ocsp(0, revoked[0]); st != xocsp.Revoked || !bytes.Equal(der, ocspBefore) {
		t.Errorf("OCSP without quorum: %d, the same answer %v", st, bytes.Equal(der, ocspBefore))
	}
	if r := f.roots(0); len(r) != len(rootsBefore) || r[newRoot] == nil {
		t.Errorf("/roots.pem without quorum holds %d roots, had %d", len(r), len(rootsBefore))
	}
	if l := f.crl(0, "/api/crl"); l.Number.Cmp(crlBefore.Number) != 0 {
		t.Errorf("the CRL without quorum is number %s, was %s", l.Number, crlBefore.Number)
	}
	for range 2 {
		code, h, b := f.do(0, "POST", "/api/certificate/request", alice, `{"domains":["quorum.cluster.lan"]}`)
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(b), "storage cluster does not answer") {
			t.Fatalf("a write without quorum: %d, Retry-After %q, %s\n%s", code, h.Get("Retry-After"), b, f.nodes[0].srv.Stderr.String()[logFrom:])
		}
	}
	for _, m := range stopped {
		m.cmd.Process.Signal(syscall.SIGCONT)
	}
	within(t, time.Now(), 60*time.Second, "node 0 issuing again with the quorum back", func() bool {
		code, _, _ := f.do(0, "POST", "/api/certificate/request", alice, `{"domains":["quorum.cluster.lan"]}`)
		return code == 200
	})
	// The probe's next ping, a quarter second apart, logs the return.
	within(t, time.Now(), 30*time.Second, "node 0 logging the quorum's return", func() bool {
		return strings.Contains(f.nodes[0].srv.Stderr.String()[logFrom:], "storage cluster answers again")
	})
	episode := f.nodes[0].srv.Stderr.String()[logFrom:]
	if n := strings.Count(episode, "storage cluster does not answer: requests"); n != 1 {
		t.Errorf("node 0 logged the lost quorum %d times, want once:\n%s", n, episode)
	}
	if n := strings.Count(episode, "storage cluster answers again"); n != 1 {
		t.Errorf("node 0 logged the quorum's return %d times, want once:\n%s", n, episode)
	}

	// A rekey through node 0: the others refuse to write secrets (and
	// say so once) until an operator copies the new key file to them.
	f.cli(0, "rekey")
	code, h, b := f.do(1, "POST", "/api/certificate/request", alice, `{"domains":["rekey.cluster.lan"]}`)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(b), "new key file") {
		t.Fatalf("node 1 making a key after node 0's rekey: %d %s", code, b)
	}
	const rekeyLine = `msg="the store was rekeyed on another node`
	within(t, time.Now(), 10*time.Second, "node 1 logging that it lacks the new key file", func() bool {
		return strings.Contains(f.nodes[1].srv.Stderr.String(), rekeyLine)
	})
	newKey, err := os.ReadFile(filepath.Join(f.nodes[0].dir, "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2} {
		if err := os.WriteFile(filepath.Join(f.nodes[i].dir, "seal.key"), newKey, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	within(t, time.Now(), 10*time.Second, "node 1 issuing with the new key file, unrestarted", func() bool {
		code, _, _ := f.do(1, "POST", "/api/certificate/request", alice, `{"domains":["rekey.cluster.lan"]}`)
		return code == 200
	})
	if n := strings.Count(f.nodes[1].srv.Stderr.String(), rekeyLine); n != 1 {
		t.Errorf("node 1 logged the rekey %d times, want once:\n%s", n, tail(f.nodes[1].srv.Stderr.String(), 3000))
	}

	// Everything acknowledged is there: through another node than the
	// one that issued it, with its key; in the store with its index
	// entries, in its owner's count, found by its name, each serial once.
	var lost atomic.Int64
	var checks sync.WaitGroup
	for i, a := range acked {
		checks.Go(func() {
			via := urls[(a.node+1+i%2)%len(urls)]
			if err := binarytest.CheckAcked(via, alice, a.Acked); err != nil && lost.Add(1) <= 10 {
				t.Errorf("acknowledged certificate %s (%s) through %s: %v", a.ID, a.Name, via, err)
			}
		})
		if i%8 == 7 {
			checks.Wait()
		}
	}
	checks.Wait()
	if lost.Load() > 0 {
		t.Fatalf("%d acknowledged certificates lost", lost.Load())
	}
	db, err := etcdstore.Open(etcdstore.Options{Endpoints: c.endpoints(), Prefix: f.prefix, KeyFile: filepath.Join(f.nodes[0].dir, "seal.key"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountCertificates("alice"); err != nil || n < len(acked)+len(acmeAcked) {
		t.Fatalf("alice has %d certificates counted; %d were acknowledged through the API and %d by ACME: %v", n, len(acked), len(acmeAcked), err)
	}
	serials := map[string]bool{}
	for _, a := range acked {
		if serials[a.ID] {
			t.Fatalf("serial %s acknowledged twice", a.ID)
		}
		serials[a.ID] = true
		serial, _ := new(big.Int).SetString(a.ID, 10)
		page, _, err := db.ListCertificates(storage.ListQuery{Owner: "alice", Name: a.Name, Limit: 2})
		if err != nil || len(page) != 1 || page[0].Serial.Cmp(serial) != 0 {
			t.Fatalf("%s by name: %d found, %v", a.Name, len(page), err)
		}
	}
	for _, a := range acmeAcked {
		leaf, err := x509.ParseCertificate(a.der)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Certificate(leaf.SerialNumber)
		if err != nil || !bytes.Equal(got.DER, a.der) {
			t.Fatalf("the ACME certificate for %s answered valid: %v", a.name, err)
		}
		if serials[leaf.SerialNumber.String()] {
			t.Fatalf("serial %s acknowledged twice", leaf.SerialNumber)
		}
		serials[leaf.SerialNumber.String()] = true
	}
	if page, _, err := db.ListCertificates(storage.ListQuery{Name: claimed, Limit: 10}); err != nil || len(page) != 1 {
		t.Fatalf("the order finalized through three nodes at once has %d certificates, want 1: %v", len(page), err)
	}
	t.Logf("all %d acknowledged certificates are there, each under its own serial", len(serials))

	testChallenges(t, c)
}

// acmeCapAcrossNodes sends six orders of 100 names for one new account
// at once through the balancer, which spreads them over the nodes: the
// account's live orders may name max_account_identifiers (300) together,
// so three are made and three refused, rateLimited, whichever nodes they
// reached.
func acmeCapAcrossNodes(t *testing.T, f *fleet, k eabKey) {
	ctx := context.Background()
	cl, err := f.acmeClient(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	// A refusal is the answer looked for, not one to wait out (its
	// Retry-After is when the first order expires, a day on).
	cl.RetryBackoff = func(n int, _ *http.Request, resp *http.Response) time.Duration {
		if resp.StatusCode == http.StatusTooManyRequests || n > 10 {
			return 0
		}
		return 100 * time.Millisecond
	}
	var made, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			_, err := cl.AuthorizeOrder(ctx, acme.DomainIDs(manyNames(100, fmt.Sprintf("cap%d.cluster.lan", i))...))
			var ae *acme.Error
			switch {
			case err == nil:
				made.Add(1)
			case errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests && strings.HasSuffix(ae.ProblemType, ":rateLimited"):
				refused.Add(1)
			default:
				t.Errorf("an order of 100 names: %v", err)
			}
		})
	}
	wg.Wait()
	if made.Load() != 3 || refused.Load() != 3 {
		t.Fatalf("six orders of 100 names for one account at once through three nodes: %d made, %d refused; want 3 and 3 (max_account_identifiers = 300)", made.Load(), refused.Load())
	}
	t.Log("ACME: an account's identifier cap holds across nodes: 3 of 6 orders of 100 names made")
}

// acmeLoad runs clients ordering through the balancer until stop, which
// returns the certificates answered valid. An order cut off by a kill is
// not acknowledged; its client starts another.
func (f *fleet) acmeLoad(ctx context.Context, k eabKey, clients int) (stop func() []acmeCert, errs *atomic.Int64) {
	var stopped atomic.Bool
	var mu sync.Mutex
	var done []acmeCert
	errs = &atomic.Int64{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			var cl *acme.Client
			for i := 0; !stopped.Load(); i++ {
				if cl == nil {
					var err error
					if cl, err = f.acmeClient(ctx, k); err != nil {
						errs.Add(1)
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				name := acmeNames[1+(c*4+i%4)%(len(acmeNames)-2)]
				octx, cancel := context.WithTimeout(ctx, time.Minute)
				oc, err := f.acmeOnce(octx, cl, name)
				cancel()
				if err != nil {
					errs.Add(1)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				mu.Lock()
				done = append(done, oc)
				mu.Unlock()
			}
		})
	}
	return func() []acmeCert {
		stopped.Store(true)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return done
	}, errs
}

// testChallenges runs a second store on the same etcd, two nodes with
// challenges required and at most three pending per user: the cap holds
// across nodes, and a challenge solved through both nodes at once issues
// one certificate, which every solve answers with.
func testChallenges(t *testing.T, c *cluster) {
	f := newFleet(t, c, "/challenges/", 2, "required = true\nmax_pending = 3")
	f.start(0)
	f.start(1)
	alice := strings.TrimSpace(f.cli(1, "user", "add", "alice"))

	var mu sync.Mutex
	var opened []string // the X-Challenge-Location of each
	var refused int
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Go(func() {
			code, h, b := doURL(t, f.nodes[i%2].url, "POST", "/api/certificate/request", alice, fmt.Sprintf(`{"domains":[%q]}`, acmeNames[i]))
			mu.Lock()
			defer mu.Unlock()
			switch code {
			case http.StatusAccepted:
				opened = append(opened, h.Get("X-Challenge-Location")+" "+acmeNames[i]+" "+strings.TrimSpace(string(b)))
			case http.StatusTooManyRequests:
				refused++
			default:
				t.Errorf("opening a challenge: %d %s", code, b)
			}
		})
	}
	wg.Wait()
	if len(opened) != 3 || refused != 6 {
		t.Fatalf("9 challenges opened at once through two nodes under a cap of 3: %d opened, %d refused", len(opened), refused)
	}
	t.Log("the pending cap holds across nodes: 3 of 9 opened")

	loc, name, token := func() (string, string, string) {
		p := strings.Fields(opened[0])
		return p[0], p[1], p[2]
	}()
	f.solver.Put(challenge.WellKnownPath, token)
	path := loc[len(f.lb.URL):]
	serials := make(chan string, 6)
	for i := range 6 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", f.nodes[i%2].url+path, nil)
			req.Header.Set("X-Auth-Token", alice)
			req.Header.Set("X-Challenge-Port", fmt.Sprint(f.solver.Port))
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Errorf("solving through node %d: %d %s", i%2, resp.StatusCode, b)
				return
			}
			serials <- strings.TrimSpace(string(b))
		})
	}
	wg.Wait()
	close(serials)
	var first string
	for s := range serials {
		if first == "" {
			first = s
		} else if s != first {
			t.Fatalf("solves of one challenge answered %s and %s", first, s)
		}
	}
	db, err := etcdstore.Open(etcdstore.Options{Endpoints: c.endpoints(), Prefix: f.prefix, KeyFile: filepath.Join(f.nodes[0].dir, "seal.key"), ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if page, _, err := db.ListCertificates(storage.ListQuery{Name: name, Limit: 10}); err != nil || len(page) != 1 || page[0].Serial.String() != first {
		t.Fatalf("a challenge solved through two nodes at once issued %d certificates: %v", len(page), err)
	}
	t.Log("a challenge solved through both nodes at once: one certificate")
}

// TestCluster_StaleTokensControl is the negative control of the token
// promise: a node whose token cache ignores its watch
// (CERTMAKER_TEST_UNSAFE_STALE_TOKENS=1) lets a user disabled through
// another node in, and the check TestCluster runs must say so.
func TestCluster_StaleTokensControl(t *testing.T) {
	c := startCluster(t, 3)
	f := newFleet(t, c, "/control/", 2, "")
	f.nodes[1].env = []string{"CERTMAKER_TEST_UNSAFE_STALE_TOKENS=1"}
	f.start(0)
	f.start(1)
	if !strings.Contains(f.nodes[1].srv.Stderr.String(), "CERTMAKER_TEST_UNSAFE_STALE_TOKENS") {
		t.Fatal("node 1 does not say it runs the negative control")
	}
	bob := strings.TrimSpace(f.cli(0, "user", "add", "bob"))
	_, err := tokensRefused(t, f, "bob", bob, 0, 1)
	if err == nil {
		t.Fatal("the token check passed with a node whose cache ignores its watch: it proves nothing")
	}
	t.Logf("the check fails, as it must: %v", err)
	// Any other value of the switch stops the start.
	f.nodes[1].srv.Stop(t)
	cmd := exec.Command(string(binary), "serve")
	cmd.Dir, cmd.Env = f.nodes[1].dir, append(os.Environ(), "CERTMAKER_TEST_UNSAFE_STALE_TOKENS=yes")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "only 1 is accepted") {
		t.Fatalf("serve with the switch set to yes: %v\n%s", err, out)
	}
}
