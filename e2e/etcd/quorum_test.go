package etcd

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// impatient is a client that gives up long before the node's
// request_timeout: what it gets, the node answered without waiting on
// etcd.
var impatient = &http.Client{Timeout: 10 * time.Second}

// TestQuorumLoss_OCSPAndHealth: while etcd has lost its quorum, a node
// answers OCSP for a certificate it answered before at once (with and
// without a nonce; openssl sends one by default) and /healthz with 503 at
// once, however long its request_timeout; it logs the episode once and
// its end once, never per request; and /healthz says 200 again when etcd
// is back.
func TestQuorumLoss_OCSPAndHealth(t *testing.T) {
	c := startCluster(t, 1)
	f := newFleet(t, c, "/quorum/", 1, "")
	editConf(t, f.nodes[0].dir, `request_timeout = "3s"`, `request_timeout = "15s"`)
	f.start(0)
	nd := f.nodes[0]
	ci := f.issue(0, nd.srv.Token, "quorum.cluster.lan")
	_, before := f.ocsp(0, ci)

	dir := t.TempDir()
	leafPEM, chainPEM := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "chain.pem")
	var chain []byte
	for _, r := range f.roots(0) {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Raw})...)
	}
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ci.issuer.Raw})...)
	must(t, os.WriteFile(leafPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ci.leaf.Raw}), 0o600))
	must(t, os.WriteFile(chainPEM, chain, 0o600))
	issuerPEM := filepath.Join(dir, "issuer.pem")
	must(t, os.WriteFile(issuerPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ci.issuer.Raw}), 0o600))

	get := func() (code int, body []byte, err error) {
		req, err := xocsp.CreateRequest(ci.leaf, ci.issuer, &xocsp.RequestOptions{Hash: crypto.SHA1})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := impatient.Get(nd.url + "/api/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	// openssl ocsp sends a nonce, and checks the answer's signature.
	withNonce := func() (string, error) {
		out, err := exec.Command("openssl", "ocsp", "-url", nd.url+"/api/ocsp", "-timeout", "10",
			"-issuer", issuerPEM, "-cert", leafPEM, "-CAfile", chainPEM).CombinedOutput()
		return string(out), err
	}
	health := func() (int, error) {
		resp, err := impatient.Get(nd.url + "/healthz")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if out, err := withNonce(); err != nil || !strings.Contains(out, "leaf.pem: good") {
		t.Fatalf("openssl ocsp with etcd up: %v\n%s", err, out)
	}

	logFrom := len(nd.srv.Stderr.String())
	m := c.members[0]
	must(t, m.cmd.Process.Signal(syscall.SIGSTOP))
	stopped := true
	defer func() {
		if stopped {
			m.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	t.Log("etcd has lost its quorum (its one member stopped)")

	var checks int
	var slowest time.Duration
	check := func() {
		t.Helper()
		start := time.Now()
		defer func() { checks, slowest = checks+1, max(slowest, time.Since(start)) }()
		code, der, err := get()
		if err != nil || code != 200 || !bytes.Equal(der, before) {
			t.Fatalf("OCSP without quorum: %d, %v, the answer held before: %v", code, err, bytes.Equal(der, before))
		}
		out, err := withNonce()
		if err != nil || !strings.Contains(out, "leaf.pem: good") {
			t.Fatalf("openssl ocsp (with a nonce) without quorum: %v\n%s", err, out)
		}
		if code, err := health(); err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("/healthz without quorum: %d, %v; want 503", code, err)
		}
	}
	check()
	// Until the node has given up on etcd once (after its request_timeout)
	// and logged it, the same answers.
	within(t, time.Now(), 60*time.Second, "the lost quorum logged", func() bool {
		check()
		return strings.Contains(nd.srv.Stderr.String()[logFrom:], "storage cluster does not answer")
	})
	check()
	t.Logf("%d times OCSP twice and /healthz without quorum, the slowest in %v", checks, slowest.Round(time.Millisecond))

	must(t, m.cmd.Process.Signal(syscall.SIGCONT))
	stopped = false
	within(t, time.Now(), 60*time.Second, "/healthz 200 with the quorum back", func() bool {
		code, err := health()
		return err == nil && code == 200
	})
	if code, der, err := get(); err != nil || code != 200 || len(der) == 0 {
		t.Fatalf("OCSP with the quorum back: %d %v", code, err)
	}
	episode := nd.srv.Stderr.String()[logFrom:]
	for _, what := range []string{"answering ocsp request", "health check failed"} {
		if n := strings.Count(episode, what); n != 0 {
			t.Errorf("%d log lines %q during the episode, want none:\n%s", n, what, episode)
		}
	}
	if n := strings.Count(episode, "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines for the episode, want 1:\n%s", n, episode)
	}
	if n := strings.Count(episode, "storage cluster answers again"); n != 1 {
		t.Errorf("the end of the episode logged %d times, want once:\n%s", n, episode)
	}
}
