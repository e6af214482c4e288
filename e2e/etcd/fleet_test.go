package etcd

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/internal/binarytest"
)

// A fleet is certmaker nodes on one etcd store, behind one public URL: a
// balancer that sends each request to the next node, skipping one that
// does not answer, as a load balancer with health checks does. Every node
// has its own directory: configuration, key file (the same key) and admin
// socket.
type fleet struct {
	t      *testing.T
	c      *cluster
	prefix string
	lb     *httptest.Server
	nodes  []*fnode
	solver *binarytest.Solver
	next   atomic.Uint64
}

type fnode struct {
	dir  string
	port int
	url  string
	env  []string
	srv  *binarytest.Server
	down atomic.Bool // killed or stopped: the balancer skips it
}

// acmeNames are the names ACME clients order, listed in [challenge.hosts]
// at the solver's address (challenges never ask DNS).
var acmeNames = func() []string {
	out := make([]string, 12)
	for i := range out {
		out[i] = fmt.Sprintf("acme%d.cluster.lan", i)
	}
	return out
}()

// newFleet makes n nodes' directories on c under prefix (not started),
// with extra configuration appended (more tables, or keys of [challenge]).
func newFleet(t *testing.T, c *cluster, prefix string, n int, challengeKeys string) *fleet {
	t.Helper()
	f := &fleet{t: t, c: c, prefix: prefix, solver: binarytest.NewSolver(t)}
	f.lb = httptest.NewServer(http.HandlerFunc(f.balance))
	t.Cleanup(f.lb.Close)
	key := sharedKey(t)
	for range n {
		nd := &fnode{dir: t.TempDir(), port: binarytest.FreePort(t)}
		nd.url = fmt.Sprintf("http://127.0.0.1:%d", nd.port)
		if err := os.WriteFile(filepath.Join(nd.dir, "seal.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		conf := nodeTOML(nd.port, f.lb.URL, c.endpoints(), prefix, f.solver.HostsTOML(acmeNames, challengeKeys))
		if err := os.WriteFile(filepath.Join(nd.dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		nd.down.Store(true)
		f.nodes = append(f.nodes, nd)
	}
	return f
}

// start starts node i and waits until it serves.
func (f *fleet) start(i int) {
	f.t.Helper()
	nd := f.nodes[i]
	cmd := exec.Command(string(binary), "serve")
	cmd.Dir, cmd.Env = nd.dir, append(os.Environ(), nd.env...)
	nd.srv = binarytest.StartCmd(f.t, cmd, nd.url)
	nd.down.Store(false)
}

// startAll starts every node at the same moment, as a fresh cluster's
// nodes may be.
func (f *fleet) startAll() {
	f.t.Helper()
	var wg sync.WaitGroup
	for _, nd := range f.nodes {
		cmd := exec.Command(string(binary), "serve")
		cmd.Dir, cmd.Env = nd.dir, append(os.Environ(), nd.env...)
		wg.Go(func() {
			nd.srv = binarytest.StartCmd(f.t, cmd, nd.url)
			nd.down.Store(false)
		})
	}
	wg.Wait()
}

// kill SIGKILLs node i, as a machine dies.
func (f *fleet) kill(i int) {
	f.t.Helper()
	nd := f.nodes[i]
	nd.down.Store(true)
	if err := nd.srv.Cmd.Process.Kill(); err != nil {
		f.t.Fatal(err)
	}
	<-nd.srv.Exited
}

// balance sends a request to the next node that answers.
func (f *fleet) balance(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for range 2 * len(f.nodes) {
		nd := f.nodes[f.next.Add(1)%uint64(len(f.nodes))]
		if nd.down.Load() {
			continue
		}
		req, _ := http.NewRequest(r.Method, nd.url+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := noRedirects.Do(req)
		if err != nil {
			continue // the node does not answer: the next one
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no node answers", http.StatusBadGateway)
}

var noRedirects = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// cli runs a command in node i's directory, through its admin socket.
func (f *fleet) cli(i int, args ...string) string {
	f.t.Helper()
	return binary.Must(f.t, f.nodes[i].dir, args...)
}

// do sends a request to node i (token "" for none).
func (f *fleet) do(i int, method, path, token, body string) (int, http.Header, []byte) {
	f.t.Helper()
	return doURL(f.t, f.nodes[i].url, method, path, token, body)
}

func doURL(t *testing.T, base, method, path, token, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s%s: %v", method, base, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// within polls cond until it holds or d has passed since start, and says
// how long it took; a poll begun before the deadline counts.
func within(t *testing.T, start time.Time, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	for {
		began := time.Now()
		if cond() {
			took := time.Since(start)
			t.Logf("%s after %v", what, took.Round(time.Millisecond))
			return took
		}
		if began.Sub(start) > d {
			t.Fatalf("not %s within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
}

// fingerprint is a certificate's SHA-256, as certmaker names CAs.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// parsePEM parses every certificate in a PEM bundle.
func parsePEM(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return out
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}
