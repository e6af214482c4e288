package etcd

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"certmaker/etcdstore"
	"certmaker/storage"
)

// BenchmarkCluster measures issuance into a three-member cluster of
// Debian's etcd on this machine (members fsync, as in production): the
// certificates stored per second and the p99 of one PutCertificate, with
// one writer and with 64, and the bytes a certificate takes in etcd once
// compacted and defragmented. Not part of make test:
//
//	cd e2e/etcd && go test -run '^$' -bench Cluster -benchtime 2000x .
func BenchmarkCluster(b *testing.B) {
	for _, bc := range []struct {
		name    string
		writers int
		names   int
	}{{"writers=1", 1, 1}, {"writers=64", 64, 1}, {"writers=64/names=100", 64, 100}} {
		b.Run(bc.name, func(b *testing.B) {
			c := startCluster(b, 3)
			db, err := etcdstore.Open(etcdstore.Options{Endpoints: c.endpoints(), KeyFile: filepath.Join(b.TempDir(), "seal.key"), Create: true})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			certs := make([]*storage.Certificate, b.N)
			for i := range certs {
				names := []string{"host.home.lan"}
				if bc.names > 1 {
					names = manyNames(bc.names, "home.lan")
				}
				certs[i] = newCert(b, "alice", t0.Add(time.Duration(i)*time.Millisecond), 30, names...)
			}
			lat := make([]time.Duration, b.N)
			next := make(chan int, b.N)
			for i := range b.N {
				next <- i
			}
			close(next)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range bc.writers {
				wg.Go(func() {
					for i := range next {
						t0 := time.Now()
						if err := db.PutCertificate(certs[i]); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(t0)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "certs/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(c.compactedSize(b))/float64(b.N), "bytes/cert")
			start = time.Now()
			if n, err := db.CountAllCertificates(); err != nil || n != b.N {
				b.Fatalf("count %d, %v", n, err)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "count-ms")
		})
	}
}

// compactedSize compacts the cluster's history, defragments a member and
// returns its database's size.
func (c *cluster) compactedSize(b *testing.B) int64 {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	resp, err := cli.Get(ctx, "x")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		b.Fatal(err)
	}
	ep := c.members[0].client
	if _, err := cli.Defragment(ctx, ep); err != nil {
		b.Fatal(err)
	}
	st, err := cli.Status(ctx, ep)
	if err != nil {
		b.Fatal(err)
	}
	return st.DbSize
}
