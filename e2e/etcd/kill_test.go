package etcd

import (
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/etcdstore"
	"certmaker/internal/binarytest"
	"certmaker/storage"
)

// TestCluster_KillUnderLoad runs three certmaker nodes on a three-member
// etcd cluster, with clients issuing through all three; mid-load it
// SIGKILLs the etcd leader and one certmaker node, restarts both, and
// then proves that every certificate any node acknowledged is there, with
// its key, through another node than the one that issued it, with its
// index entries (the store's check), in its owner's count and found by
// its name.
func TestCluster_KillUnderLoad(t *testing.T) {
	c := startCluster(t, 3)
	key := sharedKey(t)
	const prefix = "/certmaker/"
	type node struct {
		dir  string
		port int
		srv  *binarytest.Server
	}
	nodes := make([]*node, 3)
	for i := range nodes {
		dir, port := nodeDir(t, key, prefix, c.endpoints())
		nodes[i] = &node{dir: dir, port: port}
		// One after the other: the first makes the root and the admin.
		nodes[i].srv = startNode(t, dir, port)
	}
	token := strings.TrimSpace(binary.Must(t, nodes[0].dir, "user", "add", "alice"))
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.srv.URL
	}

	l := startLoad(urls, token, 6)
	defer l.stop()
	l.waitAcked(t, 30, "before the kills")

	leader := c.waitLeader(t, nil)
	c.kill(t, leader)
	if err := nodes[1].srv.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-nodes[1].srv.Exited
	t.Logf("killed etcd leader %s and certmaker node 2 after %d acknowledged", leader.name, l.ackedCount())
	// Two members elect a leader and the two other nodes go on issuing.
	c.waitLeader(t, leader)
	l.waitAcked(t, l.ackedCount()+30, "with the leader and a node down")

	c.start(t, leader)
	nodes[1].srv = startNode(t, nodes[1].dir, nodes[1].port)
	c.waitLeader(t, nil)
	before := l.ackedVia(1)
	l.waitAckedVia(t, 1, before+10, "through the restarted node")
	acked, refused, failures := l.stop()
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d acknowledged through 3 nodes, %d refused or cut off while etcd or a node was down", len(acked), refused)

	var lost atomic.Int64
	var wg sync.WaitGroup
	for i, a := range acked {
		wg.Go(func() {
			// Through the next node: another than the one that issued it.
			via := urls[(a.node+1+i%2)%len(urls)]
			if err := binarytest.CheckAcked(via, token, a.Acked); err != nil && lost.Add(1) <= 10 {
				t.Errorf("acknowledged certificate %s (%s) through %s: %v", a.ID, a.Name, via, err)
			}
		})
		if i%8 == 7 {
			wg.Wait()
		}
	}
	wg.Wait()
	if lost.Load() > 0 {
		t.Fatalf("%d acknowledged certificates lost", lost.Load())
	}

	// The store itself: every record with its index entries, the counts,
	// and each name's index.
	db, err := etcdstore.Open(etcdstore.Options{Endpoints: c.endpoints(), Prefix: prefix, KeyFile: filepath.Join(nodes[0].dir, "seal.key")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	n, err := db.CountCertificates("alice")
	if err != nil || n < len(acked) {
		t.Fatalf("alice has %d certificates counted, %d were acknowledged: %v", n, len(acked), err)
	}
	for _, a := range acked {
		serial, _ := new(big.Int).SetString(a.ID, 10)
		page, _, err := db.ListCertificates(storage.ListQuery{Owner: "alice", Name: a.Name, Limit: 2})
		if err != nil || len(page) != 1 || page[0].Serial.Cmp(serial) != 0 {
			t.Fatalf("%s by name: %d found, %v", a.Name, len(page), err)
		}
	}
}

// load is clients issuing round robin through several nodes until
// stopped; a refusal (503) or a node that does not answer is tried again
// with a new request, and anything else is a failure.
type load struct {
	stopped  atomic.Bool
	wg       sync.WaitGroup
	mu       sync.Mutex
	acked    []ackedVia
	via      []int
	refused  atomic.Int64
	failures []string
}

type ackedVia struct {
	binarytest.Acked
	node int
}

func startLoad(urls []string, token string, clients int) *load {
	l := &load{via: make([]int, len(urls))}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for c := range clients {
		l.wg.Go(func() {
			for i := 0; !l.stopped.Load(); i++ {
				node := (c + i) % len(urls)
				name := fmt.Sprintf("c%d-%d.cluster.lan", c, i)
				a, err := binarytest.Issue(hc, urls[node], token, name, i%3 == 2)
				var se *binarytest.StatusError
				switch {
				case err == nil:
					l.mu.Lock()
					l.acked = append(l.acked, ackedVia{a, node})
					l.via[node]++
					l.mu.Unlock()
				case errors.As(err, &se) && se.Code == http.StatusServiceUnavailable, !errors.As(err, &se):
					// etcd without a leader, or the node is down: not
					// acknowledged, never promised. A short pause keeps a
					// dead node's refusals from spinning.
					l.refused.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					l.mu.Lock()
					l.failures = append(l.failures, err.Error())
					l.mu.Unlock()
					return
				}
			}
		})
	}
	return l
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *load) ackedVia(node int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.via[node]
}

// waitAcked polls until n certificates are acknowledged, failing after a
// deadline (or at the first failure).
func (l *load) waitAcked(t *testing.T, n int, when string) {
	t.Helper()
	l.waitFor(t, func() bool { return l.ackedCount() >= n }, fmt.Sprintf("%d acknowledged %s", n, when))
}

func (l *load) waitAckedVia(t *testing.T, node, n int, when string) {
	t.Helper()
	l.waitFor(t, func() bool { return l.ackedVia(node) >= n }, fmt.Sprintf("%d acknowledged %s", n, when))
}

func (l *load) waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		l.mu.Lock()
		failed := len(l.failures) > 0
		l.mu.Unlock()
		if failed || time.Now().After(deadline) {
			_, refused, failures := l.stop()
			t.Fatalf("waiting for %s: %d acknowledged, %d refused, failures %q", what, l.ackedCount(), refused, failures)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, with a deadline
	}
}

// stop ends the clients and returns what they saw.
func (l *load) stop() ([]ackedVia, int64, []string) {
	l.stopped.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked, l.refused.Load(), l.failures
}
