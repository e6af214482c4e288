// Command prefill fills a certmaker database with many certificates quickly,
// for measuring certmaker at scale (`make prefill`, scripts/load.sh --scale).
//
// It writes through the store package's own PutCertificate, so records,
// indexes and commits are exactly what the server makes, from many
// goroutines at once so that bbolt groups them into large transactions.
// To be quick it does not sign a million certificates: it signs a pool of
// real leaves under the file's root (-pool, default 256) and reuses their
// DER and keys, while every record gets its own serial (laid out as ca makes
// leaf serials: issue time, then random bits), an owner among -owners
// users, its own names, and an issue time; issue times run in order over
// the last -span (two years), as a real CA's do, and lifetimes run from 7
// to 397 days, so that about half have expired. -revoked of them (spread
// over the fill, none of the first user's, so that one user has none) are
// revoked right after they are stored, through the store's own Revoke.
// The serial inside a reused DER is therefore not the record's serial; that
// matters to nothing certmaker reads at scale (lookups go by key).
//
// The file gets a root (if it has none) and a user "loader" whose token is
// written to -token (mode 0600), so that `certmaker serve` on the file can
// be driven by a load generator.
//
//	go run ./tools/prefill -db /tmp/certmaker-load/1m.db -n 1000000
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"certmaker/admin"
	"certmaker/app"
	"certmaker/ca"
	"certmaker/config"
	"certmaker/storage"
	"certmaker/store"
)

func main() {
	dbPath := flag.String("db", "prefill.db", "database `PATH` (created if missing)")
	n := flag.Int("n", 1_000_000, "certificates to add")
	pool := flag.Int("pool", 256, "distinct signed leaves to reuse")
	owners := flag.Int("owners", 10, "users the certificates belong to")
	revoked := flag.Int("revoked", 10000, "certificates to revoke (at most 1 in 2)")
	span := flag.Duration("span", 2*365*24*time.Hour, "issue times run over this much of the past")
	workers := flag.Int("workers", 2000, "concurrent writers (bbolt groups up to 1000 per commit)")
	tokenFile := flag.String("token", "", "write the load user's token here (default: <db>.token)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the fill to `FILE`")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal("prefill: ", err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *tokenFile == "" {
		*tokenFile = *dbPath + ".token"
	}
	if *n <= 0 || *owners <= 1 || *revoked < 0 || *revoked > *n/2 || *span <= 0 {
		log.Fatal("prefill: want -n > 0, -owners > 1, 0 <= -revoked <= n/2 and -span > 0")
	}
	f := fill{n: *n, pool: *pool, owners: *owners, workers: *workers, revoked: *revoked, span: *span}
	if err := f.run(*dbPath, *tokenFile); err != nil {
		pprof.StopCPUProfile()
		log.Fatal("prefill: ", err)
	}
}

type leaf struct {
	der, key []byte
}

type fill struct {
	n, pool, owners, workers, revoked int
	span                              time.Duration
}

func (f fill) run(dbPath, tokenFile string) error {
	n, poolSize, owners, workers := f.n, f.pool, f.owners, f.workers
	start := time.Now()
	// The defaults: an ECDSA P-256 "certmaker Root CA", as serve makes.
	cfg := config.Default()
	cfg.Store.Path = dbPath
	db, err := app.OpenStore(cfg, app.OpenOptions{Create: true, Wait: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	cfg.Server.PublicURL = "http://127.0.0.1:8880"
	svc, err := app.NewCore(cfg, db, app.Options{})
	if err != nil {
		return err
	}
	if err := app.EnsureRoot(context.Background(), svc, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	authority := svc.Authority()
	root := authority.Active()

	ops := &admin.Local{Core: svc, Who: "prefill"}
	token, err := ops.AddUser(context.Background(), "loader", false)
	if errors.Is(err, store.ErrExists) {
		token, err = ops.ResetToken(context.Background(), "loader")
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	ownerNames := make([]string, owners)
	for i := range ownerNames {
		ownerNames[i] = fmt.Sprintf("user%04d", i)
		if _, err := ops.AddUser(context.Background(), ownerNames[i], false); err != nil && !errors.Is(err, store.ErrExists) {
			return err
		}
	}

	leaves := make([]leaf, poolSize)
	for i := range leaves {
		req := &ca.Request{DNSNames: []string{fmt.Sprintf("host%d.example.com", i)}}
		if err := req.Normalize(); err != nil {
			return err
		}
		key, err := ca.GenerateKey(ca.KeyECDSAP256)
		if err != nil {
			return err
		}
		iss, err := authority.Sign(req, key.Public())
		if err != nil {
			return err
		}
		pkcs8, err := ca.MarshalKey(key)
		if err != nil {
			return err
		}
		leaves[i] = leaf{der: iss.DER, key: pkcs8}
	}
	// The operator's admin user, for the dashboard's and the API's
	// everyone's listings (scripts/load.sh --prefill).
	adminToken, err := ops.AddUser(context.Background(), "operator", true)
	if errors.Is(err, store.ErrExists) {
		adminToken, err = ops.ResetToken(context.Background(), "operator")
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(tokenFile+".admin", []byte(adminToken+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "prefill: root %s, %d owners, %d signed leaves to reuse; adding %d certificates over %s, revoking %d\n",
		root.Fingerprint, owners, poolSize, n, f.span, f.revoked)

	var next, done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	now := time.Now().UTC().Truncate(time.Second)
	// Every revokeEvery-th certificate is revoked, unless it is the first
	// user's.
	revokeEvery := int64(0)
	if f.revoked > 0 {
		revokeEvery = int64(n) * int64(owners-1) / int64(owners) / int64(f.revoked)
	}
	var revokedN atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go progress(&done, n, stop)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				l := leaves[i%int64(poolSize)]
				owner := ownerNames[i%int64(owners)]
				// Issued in order over the last half year, as a CA issues,
				// with serials as ca makes them for leaves.
				created := issueTime(now, f.span, i, int64(n))
				serial, err := ca.NewLeafSerial(rand.Reader, created)
				if err != nil {
					log.Fatal(err)
				}
				c := &store.Certificate{
					Serial:   serial,
					DER:      l.der,
					Owner:    owner,
					Root:     root.Fingerprint,
					KeyPKCS8: l.key,
					KeyType:  string(ca.KeyECDSAP256),
					Names:    []string{fmt.Sprintf("host%d.%s.home.lan", i, owner)},
					NotAfter: created.Truncate(time.Second).Add(time.Duration(7+mrand.IntN(391)) * 24 * time.Hour),
					Created:  created,
				}
				if err := db.PutCertificate(c); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				if revokeEvery > 0 && i%revokeEvery == revokeEvery-1 && owner != ownerNames[0] && revokedN.Add(1) <= int64(f.revoked) {
					at := created.Add(time.Duration(mrand.Int64N(int64(c.NotAfter.Sub(created)))))
					if at.After(now) {
						at = now
					}
					if _, err := db.Revoke(serial, at, 4); err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if firstErr != nil {
		return firstErr
	}
	var size int64
	if sz, ok := db.(storage.Sizer); ok {
		size, _ = sz.Size()
	}
	fmt.Fprintf(os.Stderr, "prefill: %d certificates (%d revoked) in %s (%.0f/s), file %d MB, token in %s\n",
		n, min(revokedN.Load(), int64(f.revoked)), time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds(), size>>20, tokenFile)
	return nil
}

func progress(done *atomic.Int64, n int, stop <-chan struct{}) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fmt.Fprintf(os.Stderr, "prefill: %d of %d\n", done.Load(), n)
		}
	}
}

// issueTime is when certificate i of n was issued, in order over span.
// span*i would overflow int64 nanoseconds for a large i (from i = 587
// for two years), so the fraction is taken in floating point.
func issueTime(now time.Time, span time.Duration, i, n int64) time.Time {
	return now.Add(-span + time.Duration(float64(span)*(float64(i)/float64(n))))
}
