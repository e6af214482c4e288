package powercut

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The harness is only as good as its file system: these tests pin down
// what survives a cut on lazyFS, through the kernel, as bbolt uses it.

func lazyDirs(t *testing.T) (backing, mnt string) {
	t.Helper()
	base := t.TempDir()
	backing, mnt = filepath.Join(base, "disk"), filepath.Join(base, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return backing, mnt
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLazyFS_OnlySyncedBytesSurviveTheCut(t *testing.T) {
	backing, mnt := lazyDirs(t)
	m := mountLazy(t, backing, mnt)

	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	synced := bytes.Repeat([]byte("s"), 10000) // spans three pages
	if _, err := f.WriteAt(synced, 0); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(backing, "f")); len(got) != 0 {
		t.Fatalf("the backing file has %d bytes before any sync, want 0", len(got))
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(backing, "f")); !bytes.Equal(got, synced) {
		t.Fatalf("after fdatasync the backing file has %d bytes, want the %d written", len(got), len(synced))
	}

	// Unsynced: an overwrite, an extension and a shrink. Readers see them
	// all; the backing file sees none.
	if _, err := f.WriteAt([]byte("UNSYNCED"), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("tail"), 20000); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(15000); err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, synced[:100]...), "UNSYNCED"...), synced[108:]...)
	want = append(want, make([]byte, 5000)...)
	if got := mustRead(t, filepath.Join(mnt, "f")); !bytes.Equal(got, want) {
		t.Fatalf("reading through the mount: %d bytes, want %d (unsynced writes must be visible)", len(got), len(want))
	}
	if st, err := f.Stat(); err != nil || st.Size() != 15000 {
		t.Fatalf("fstat through the mount: %v, %v; want size 15000", st.Size(), err)
	}
	if got := mustRead(t, filepath.Join(backing, "f")); !bytes.Equal(got, synced) {
		t.Fatalf("unsynced writes reached the backing file (%d bytes)", len(got))
	}
	f.Close()

	stats := m.powerCut(t, cutNow, func() {})
	if got := mustRead(t, filepath.Join(backing, "f")); !bytes.Equal(got, synced) {
		t.Fatalf("after the cut the backing file has %d bytes, want exactly the %d synced", len(got), len(synced))
	}
	if stats.syncs != 1 || stats.droppedBytes == 0 {
		t.Errorf("stats %+v: want one sync and some bytes dropped", stats)
	}
}

func TestLazyFS_SyncedShrinkAndRegrowReadsZeros(t *testing.T) {
	backing, mnt := lazyDirs(t)
	if err := os.WriteFile(filepath.Join(backing, "f"), bytes.Repeat([]byte("x"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	m := mountLazy(t, backing, mnt)
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(100); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8192); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m.powerCut(t, cutNow, func() {})
	want := append(bytes.Repeat([]byte("x"), 100), make([]byte, 8092)...)
	if got := mustRead(t, filepath.Join(backing, "f")); !bytes.Equal(got, want) {
		t.Fatalf("after shrink, regrow and fsync the backing file differs from what readers saw")
	}
}

// A torn cut lets some unsynced pages reach the disk, whole, and only
// over what was synced: never past the synced size.
func TestLazyFS_TornCutKeepsWholePagesOrNone(t *testing.T) {
	backing, mnt := lazyDirs(t)
	const pages = 64
	old := bytes.Repeat([]byte("o"), pages*lazyPage)
	if err := os.WriteFile(filepath.Join(backing, "f"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	m := mountLazy(t, backing, mnt)
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte("n"), (pages+4)*lazyPage), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	stats := m.powerCut(t, cutTorn, func() {})
	got := mustRead(t, filepath.Join(backing, "f"))
	if len(got) != len(old) {
		t.Fatalf("after a torn cut the file has %d bytes, want the synced %d", len(got), len(old))
	}
	var kept int
	for pg := range pages {
		page := got[pg*lazyPage : (pg+1)*lazyPage]
		switch {
		case bytes.Equal(page, old[:lazyPage]):
		case bytes.Equal(page, bytes.Repeat([]byte("n"), lazyPage)):
			kept++
		default:
			t.Fatalf("page %d is neither the synced nor the unsynced one", pg)
		}
	}
	// 64 fair coins: all heads or all tails once in 2^63 runs.
	if kept == 0 || kept == pages || int64(kept*lazyPage) != stats.tornBytes {
		t.Errorf("a torn cut kept %d of %d unsynced pages (stats %+v): want some, not all", kept, pages, stats)
	}
}

// bbolt reads through a read-only shared mmap and writes with pwrite: the
// mapping must show the unsynced writes, made before and after mapping.
// The mapping is read in another process: a page fault on this mount
// blocks its thread outside any system call, and a garbage collection in
// this process would then wait for it while the file system that must
// answer the fault waits for the collection.
func TestLazyFS_MmapSeesUnsyncedWrites(t *testing.T) {
	backing, mnt := lazyDirs(t)
	if err := os.WriteFile(filepath.Join(backing, "f"), make([]byte, 3*4096), 0o600); err != nil {
		t.Fatal(err)
	}
	m := mountLazy(t, backing, mnt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mmapHelperEnv+"="+filepath.Join(mnt, "f"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mmap through the mount: %v\n%s", err, out)
	}
	m.powerCut(t, cutNow, func() {})
	if got := mustRead(t, filepath.Join(backing, "f")); !bytes.Equal(got, make([]byte, 3*4096)) {
		t.Errorf("unsynced writes survived the cut")
	}
}

// mmapHelperEnv names the file TestMain maps, in the test binary run
// again as a helper process.
const mmapHelperEnv = "CERTMAKER_POWERCUT_MMAP_HELPER"

// mmapHelper writes to path and reads the writes back through a
// read-only shared mapping, as bbolt does, without ever syncing.
func mmapHelper(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte("before"), 4096); err != nil {
		return err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, 3*4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	defer unix.Munmap(mem)
	if got := string(mem[4096 : 4096+6]); got != "before" {
		return fmt.Errorf("the mapping shows %q, want the unsynced write %q", got, "before")
	}
	if _, err := f.WriteAt([]byte("after"), 2*4096+10); err != nil {
		return err
	}
	if got := string(mem[2*4096+10 : 2*4096+15]); got != "after" {
		return fmt.Errorf("the mapping shows %q, want the write made after mapping %q", got, "after")
	}
	return nil
}
