// Package etcd tests the etcd backend (certmaker/etcdstore) against a real
// etcd: embedded in the test process for the store's own tests, and
// Debian's etcd binary, three members killed with SIGKILL, for the cluster
// test. It is a module of its own so that etcd's server (and the newer
// bbolt it needs) stays out of the product's go.mod and out of the other
// end-to-end tests' builds.
package etcd

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"

	"certmaker/internal/binarytest"
)

// binary is the certmaker built once for these tests.
var binary binarytest.Binary

// embedded is the one etcd every store test of this package shares, each
// under a prefix of its own.
var embedded struct {
	endpoint string
	n        atomic.Int64
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "certmaker-etcd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e, err := startEmbedded(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting embedded etcd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	embedded.endpoint = e.Clients[0].Addr().String()
	path, cleanup, err := binarytest.Build("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		e.Close()
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binary = binarytest.Binary(path)
	code := m.Run()
	cleanup()
	e.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startEmbedded starts a one-member etcd in dir on loopback ports the
// kernel picks; tune, if not nil, changes its configuration first.
func startEmbedded(dir string, tune ...func(*embed.Config)) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(dir, "etcd.log")} // its shutdown complains of closed listeners
	lc, _ := url.Parse("http://127.0.0.1:0")
	lp, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*lc}, []url.URL{*lc}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*lp}, []url.URL{*lp}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// The store's tests prove what the store does, not etcd's fsync; the
	// cluster test runs real members that sync.
	cfg.UnsafeNoFsync = true
	for _, f := range tune {
		f(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(time.Minute):
		e.Close()
		return nil, fmt.Errorf("not ready within a minute")
	}
}
