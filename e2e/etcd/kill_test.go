package etcd

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certmaker/internal/binarytest"
)

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
