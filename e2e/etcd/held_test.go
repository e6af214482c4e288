package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"certmaker/core"
	"certmaker/internal/binarytest"
)

// While the storage cluster does not answer, /roots.pem's roots, the
// issuer certificates and the CRLs a node holds are served from memory
// without waiting for the store: with a request timeout of 30 s, each
// answers within the 10 s a client would wait (the store, asked, would
// take 30). When the cluster answers again, the episode ends by itself.
func TestHeld_ServedWhileClusterDown(t *testing.T) {
	e := startRestartable(t)
	n := startInNode(t, e.endpoint, newPrefix(), nil, 30*time.Second)
	if _, err := n.crl(t); err != nil {
		t.Fatal(err)
	}
	wantRoots, err := n.svc.RootsPEM(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	e.stop()
	for i := range 3 {
		answered := make(chan error, 3)
		go func() {
			got, err := n.svc.RootsPEM(context.Background(), true)
			if err == nil && string(got) != string(wantRoots) {
				err = errors.New("other roots than before")
			}
			answered <- err
		}()
		go func() { _, err := n.crl(t); answered <- err }()
		go func() {
			iss, err := n.svc.ActiveIssuer()
			if err == nil {
				_, err = n.svc.IssuerDER(iss.Fingerprint)
			}
			answered <- err
		}()
		timeout := time.After(10 * time.Second)
		for range 3 {
			select {
			case err := <-answered:
				if err != nil {
					t.Fatalf("round %d with the cluster down: %v", i, err)
				}
			case <-timeout:
				t.Fatalf("round %d: a held answer waited for the store (request timeout 30 s)", i)
			}
		}
	}

	e.start()
	// The node's own reads find the cluster again: a write succeeds, and
	// an episode logged (once) is logged as over.
	within(t, time.Now(), 60*time.Second, "the node uses the cluster again", func() bool {
		n.svc.RootsPEM(context.Background(), true)
		_, err := n.issue("back.lan")
		return err == nil && countLines(t, n.log, "ERROR", "does not answer") == countLines(t, n.log, "INFO", "answers again")
	})
	if c := countLines(t, n.log, "ERROR", "does not answer"); c > 1 {
		t.Errorf("%d lines say the cluster does not answer, want at most 1:\n%s", c, n.log)
	}
}

// restartable is an embedded etcd that stops and starts again on the same
// client port and data, closed when the test ends, after what the test
// started since (cleanups run last first): a node closing on a closed
// cluster would wait out its request timeout.
type restartable struct {
	t        *testing.T
	dir      string
	endpoint string
	tune     func(*embed.Config)
	e        *embed.Etcd
}

func startRestartable(t *testing.T) *restartable {
	port := binarytest.FreePort(t)
	r := &restartable{t: t, dir: t.TempDir(), endpoint: fmt.Sprintf("127.0.0.1:%d", port)}
	r.tune = func(c *embed.Config) {
		u, _ := url.Parse("http://" + r.endpoint)
		c.ListenClientUrls, c.AdvertiseClientUrls = []url.URL{*u}, []url.URL{*u}
	}
	r.start()
	t.Cleanup(func() {
		if r.e != nil {
			r.e.Close()
		}
	})
	return r
}

func (r *restartable) start() {
	r.t.Helper()
	e, err := startEmbedded(r.dir, r.tune)
	if err != nil {
		r.t.Fatal(err)
	}
	r.e = e
}

func (r *restartable) stop() {
	r.e.Close()
	r.e = nil
}

// An episode the node logged ends as soon as the cluster answers again,
// even when all it is asked is what it answers from memory meanwhile
// (roots, CRLs): those reads still ask the store, in the background.
func TestHeld_EpisodeEndsOnHeldReads(t *testing.T) {
	e := startRestartable(t)
	n := startInNode(t, e.endpoint, newPrefix(), nil, time.Second)
	if _, err := n.crl(t); err != nil {
		t.Fatal(err)
	}
	e.stop()
	if _, err := n.svc.Authenticate(context.Background(), "no-such-token"); core.KindOf(err) != core.Unavailable {
		t.Fatalf("with etcd down: %v", err)
	}
	// The episode begins with the probe's own failed ping (storagestate.go).
	within(t, time.Now(), 30*time.Second, "the episode is logged", func() bool {
		return countLines(t, n.log, "ERROR", "does not answer") == 1
	})
	// Held answers meanwhile neither wait nor end the episode: their
	// reads in the background (each failing after the 1 s timeout) say
	// the cluster does not answer. Three timeouts' worth of them.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		if _, err := n.svc.RootsPEM(context.Background(), true); err != nil {
			t.Fatalf("roots: %v", err)
		}
		if _, err := n.crl(t); err != nil {
			t.Fatalf("crl: %v", err)
		}
		if c := countLines(t, n.log, "INFO", "answers again"); c != 0 {
			t.Fatalf("the episode ended while the cluster was down:\n%s", n.log)
		}
		time.Sleep(50 * time.Millisecond) // pacing the requests, not waiting for a condition
	}
	e.start()
	within(t, time.Now(), 30*time.Second, "the episode ends", func() bool {
		if _, err := n.svc.RootsPEM(context.Background(), true); err != nil {
			t.Fatalf("roots: %v", err)
		}
		if _, err := n.crl(t); err != nil {
			t.Fatalf("crl: %v", err)
		}
		return countLines(t, n.log, "INFO", "answers again") == 1
	})
}
