package powercut

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPowerCut_NegativeControl shows that the harness can fail: a server
// whose store never syncs (CERTMAKER_TEST_UNSAFE_NOSYNC=1) must lose
// acknowledged writes in a cut. If it loses none, the lazy file system
// keeps unsynced data, and TestPowerCut_AcknowledgedWritesSurvive passing
// would prove nothing.
func TestPowerCut_NegativeControl(t *testing.T) {
	if why := fuseUnavailable(); why != "" {
		noFUSE(t, why)
	}
	r := newRig(t, 1)
	l := newLedger()
	m := mountLazy(t, r.disk, r.mnt)
	srv := r.start(t, r.mnt, "CERTMAKER_TEST_UNSAFE_NOSYNC=1")
	var stats lazyStats
	r.load(t, l, 4, 0, 100*time.Millisecond, func() { stats = m.powerCut(t, cutNow, srv.kill) })
	checkFile(t, r.db(r.disk))

	if !strings.Contains(srv.Stderr.String(), "CERTMAKER_TEST_UNSAFE_NOSYNC") {
		t.Errorf("serve did not warn that it runs without fsync")
	}
	r.start(t, r.disk)
	losses := r.verify(t, l)
	acked, lost := l.counts(), lostCounts(losses)
	t.Logf("without fsync: acknowledged %v; lost %v; %d fsyncs reached the file system, %d unsynced bytes dropped",
		acked, lost, stats.syncs, stats.droppedBytes)
	if len(losses) == 0 {
		t.Fatalf("the harness is broken: a server that never syncs lost none of its %d acknowledged writes in the power cut", acked.sum())
	}
}

// The test-only switch must not be set by accident: any value but "1"
// stops the start.
func TestPowerCut_UnsafeNoSyncTakesOnlyOne(t *testing.T) {
	for _, v := range []string{"true", "0", "yes", " 1"} {
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "--db", filepath.Join(dir, "certmaker.db"), "serve", "--listen", "127.0.0.1:0")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CERTMAKER_TEST_UNSAFE_NOSYNC="+v)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "CERTMAKER_TEST_UNSAFE_NOSYNC") {
			t.Errorf("CERTMAKER_TEST_UNSAFE_NOSYNC=%q: serve exited with %v, want a refusal naming the variable\n%s", v, err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "certmaker.db")); err == nil {
			t.Errorf("CERTMAKER_TEST_UNSAFE_NOSYNC=%q: serve created the database before refusing", v)
		}
	}
}
