package e2e

import (
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/internal/binarytest"
	"certmaker/internal/testdb"
)

// TestCrash_KillUnderLoad issues certificates from concurrent clients,
// SIGKILLs the server mid-load, restarts it on the same file and checks
// that every acknowledged certificate is there with its key. `make
// crash-test` runs more rounds and clients (CERTMAKER_CRASH_ROUNDS,
// CERTMAKER_CRASH_CLIENTS).
func TestCrash_KillUnderLoad(t *testing.T) {
	rounds := envInt(t, "CERTMAKER_CRASH_ROUNDS", 1)
	clients := envInt(t, "CERTMAKER_CRASH_CLIENTS", 8)
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))

	var all []acked
	for round := range rounds {
		// A different moment in each round: mid-batch, mid-fsync, between.
		killAfter := 700*time.Millisecond + mrand.N(600*time.Millisecond)
		got, unanswered := issueUntilKilled(t, srv, token, clients, round, killAfter)
		if len(got) == 0 {
			t.Fatalf("round %d: no certificate acknowledged before the kill\n%s", round, srv.Stderr)
		}
		all = append(all, got...)

		srv = binary.Start(t, dir)
		lost := binarytest.VerifyAcked(t, srv.URL, token, all)
		t.Logf("round %d: killed after %s with %d clients: %d acknowledged this round (%d in all), %d requests cut off unanswered, %d lost",
			round+1, killAfter.Round(time.Millisecond), clients, len(got), len(all), unanswered, lost)
		if lost > 0 {
			t.Fatalf("round %d: %d acknowledged certificates lost", round+1, lost)
		}
		// The restarted server issues as before.
		if code, _, body := srv.Do(t, "POST", "/api/certificate/request", token, `{"domains":["after.crash.lan"]}`); code != 200 {
			t.Fatalf("request after restart: %d %s", code, body)
		}
	}
	srv.Stop(t)

	db, err := testdb.Open(filepath.Join(dir, "certmaker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("database check after %d kills: %v", rounds, err)
	}
	n, err := db.CountCertificates("alice")
	if err != nil {
		t.Fatal(err)
	}
	if n < len(all)+rounds {
		t.Errorf("the file holds %d of alice's certificates, fewer than the %d acknowledged", n, len(all)+rounds)
	}
	t.Logf("total: %d acknowledged over %d kills, 0 lost; %d more were committed but cut off before their answer",
		len(all), rounds, n-rounds-len(all))
}

// issueUntilKilled runs clients that issue as fast as they can (every third
// request with a CSR), SIGKILLs the server after killAfter, and returns what
// was acknowledged and how many requests got no answer.
func issueUntilKilled(t *testing.T, srv *server, token string, clients, round int, killAfter time.Duration) ([]acked, int64) {
	t.Helper()
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true},
	}
	defer hc.CloseIdleConnections()
	var (
		mu         sync.Mutex
		got        []acked
		killed     atomic.Bool
		unanswered atomic.Int64
		wg         sync.WaitGroup
		failures   = make(chan string, clients)
	)
	for c := range clients {
		wg.Go(func() {
			for i := 0; !killed.Load(); i++ {
				name := fmt.Sprintf("r%d-c%d-%d.crash.lan", round, c, i)
				a, err := binarytest.Issue(hc, srv.URL, token, name, i%3 == 2)
				if err != nil {
					if killed.Load() {
						unanswered.Add(1) // cut off by the kill: fate unknown, never promised
						return
					}
					failures <- err.Error()
					return
				}
				mu.Lock()
				got = append(got, a)
				mu.Unlock()
			}
		})
	}
	time.Sleep(killAfter)
	killed.Store(true)
	if err := srv.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.Exited
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("before the kill: %s", f)
	}
	mu.Lock()
	defer mu.Unlock()
	return got, unanswered.Load()
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}
