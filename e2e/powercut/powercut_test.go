package powercut

import (
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"
)

// TestPowerCut_AcknowledgedWritesSurvive runs clients of every kind
// (simple requests, CSRs, ACME orders, revocations) against the server
// with its database on the lazy file system, cuts the power at a random
// moment, restarts on what the disk kept and finds every acknowledged
// write. `make powercut-test` runs more rounds (CERTMAKER_POWERCUT_ROUNDS)
// and clients (CERTMAKER_POWERCUT_CLIENTS).
func TestPowerCut_AcknowledgedWritesSurvive(t *testing.T) {
	if why := fuseUnavailable(); why != "" {
		noFUSE(t, why)
	}
	rounds := envInt(t, "CERTMAKER_POWERCUT_ROUNDS", 1)
	clients := envInt(t, "CERTMAKER_POWERCUT_CLIENTS", 8)
	r := newRig(t, (clients+3)/4)
	l := newLedger()
	var syncs int
	for round := range rounds {
		m := mountLazy(t, r.disk, r.mnt)
		srv := r.start(t, r.mnt)
		before, cutOffBefore := l.counts(), l.cutOff
		// A different moment each round, and by turns the cut comes as
		// a commit waits in fsync, at a random instant, or at a random
		// instant with some unsynced pages written back.
		extra := mrand.N(800 * time.Millisecond)
		mode := [...]cutMode{cutMidSync, cutNow, cutTorn}[round%3]
		var stats lazyStats
		r.load(t, l, clients, round, extra, func() { stats = m.powerCut(t, mode, srv.kill) })
		syncs += stats.syncs
		checkFile(t, r.db(r.disk))

		srv = r.start(t, r.disk)
		losses := r.verify(t, l)
		now := l.counts()
		var this counts
		for k := range kinds {
			this[k] = now[k] - before[k]
		}
		t.Logf("round %d: cut %s, %s after every kind was acknowledged, %d clients; acknowledged this round: %v; in all: %v; cut off unanswered: %d; %d fsyncs kept, %d unsynced bytes dropped, %d torn through; lost: %v",
			round+1, mode, extra.Round(time.Millisecond), clients, this, now, l.cutOff-cutOffBefore, stats.syncs, stats.droppedBytes, stats.tornBytes, lostCounts(losses))
		for i, lost := range losses {
			if i == 10 {
				t.Errorf("... and %d more", len(losses)-10)
				break
			}
			t.Errorf("acknowledged, then lost in the cut: %v", lost)
		}
		if len(losses) > 0 {
			t.FailNow()
		}
		// The restarted server issues as before.
		after := worker{r: r, hc: r.hc, prefix: fmt.Sprintf("after-cut-%d", round)}
		if _, err := after.issue(false); err != nil {
			t.Fatalf("issuing after the restart: %v", err)
		}
		r.stop(t, srv)
	}
	t.Logf("total over %d power cuts: acknowledged %v (%d writes), lost 0; %d requests cut off unanswered; %d fsyncs",
		rounds, l.counts(), l.counts().sum(), l.cutOff, syncs)
}
