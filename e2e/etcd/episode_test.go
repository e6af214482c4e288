package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"certmaker/app"
	"certmaker/config"
	"certmaker/core"
	"certmaker/internal/binarytest"
	"certmaker/internal/testlog"
	"certmaker/storage"
)

// A storage cluster that stops answering is an episode the core logs
// once, at Error, however many requests it refuses (each Unavailable, not
// Full), and once at Info when a request (or its probe) gets an answer
// again.
func TestCore_UnavailableEpisode(t *testing.T) {
	dir, etcdDir := t.TempDir(), t.TempDir()
	port := binarytest.FreePort(t)
	fixed := func(c *embed.Config) {
		u, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
		c.ListenClientUrls, c.AdvertiseClientUrls = []url.URL{*u}, []url.URL{*u}
	}
	e, err := startEmbedded(etcdDir, fixed)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()

	cfg := config.Default()
	cfg.Store.Backend, cfg.Store.Path, cfg.Store.KeyFile = "etcd", filepath.Join(dir, "node.db"), filepath.Join(dir, "seal.key")
	cfg.Store.Etcd.Endpoints = []string{fmt.Sprintf("127.0.0.1:%d", port)}
	cfg.Store.Etcd.RequestTimeout = config.Duration{Duration: time.Second}
	st, err := app.OpenStore(cfg, app.OpenOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := &testlog.Buffer{}
	svc, err := app.NewCore(cfg, st, app.Options{Logger: log.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, "no-such-token"); core.KindOf(err) != core.NotFound {
		t.Fatalf("with etcd up: %v", err)
	}

	e.Close()
	for range 3 {
		_, err := svc.Authenticate(ctx, "no-such-token")
		if core.KindOf(err) != core.Unavailable || !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("with etcd down: %v (kind %s), want Unavailable", err, core.KindOf(err))
		}
	}
	// The core's probe, started by the first failure, confirms it with a
	// ping of its own, which fails within the request timeout.
	deadline := time.Now().Add(30 * time.Second)
	for countLines(t, log, "ERROR", "does not answer") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	if n := countLines(t, log, "ERROR", "does not answer"); n != 1 {
		t.Errorf("%d lines say the cluster does not answer, want 1:\n%s", n, log)
	}

	if e, err = startEmbedded(etcdDir, fixed); err != nil {
		t.Fatal(err)
	}
	// The client reconnects on its own.
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, err := svc.Authenticate(ctx, "no-such-token")
		if core.KindOf(err) == core.NotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd is back, but: %v", err)
		}
	}
	// The probe's ping, a quarter second apart, ends the episode.
	for countLines(t, log, "INFO", "answers again") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	if n := countLines(t, log, "INFO", "answers again"); n != 1 {
		t.Errorf("%d lines say the cluster answers again, want 1:\n%s", n, log)
	}
	if n := countLines(t, log, "ERROR", "does not answer"); n != 1 {
		t.Errorf("%d lines say the cluster does not answer, want 1:\n%s", n, log)
	}
}

// countLines counts the log's lines at level whose message says what.
func countLines(t *testing.T, log *testlog.Buffer, level, what string) int {
	t.Helper()
	n := 0
	for _, l := range log.Lines(t) {
		if msg, _ := l["msg"].(string); l["level"] == level && strings.Contains(msg, what) {
			n++
		}
	}
	return n
}
