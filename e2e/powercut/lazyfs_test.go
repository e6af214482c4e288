package powercut

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// lazyFS passes a backing directory through FUSE but keeps each regular
// file's written-but-unsynced state in memory, as a disk's volatile cache
// does: reads see the latest writes (also through mmap, whose pages the
// kernel fills from here), and only fsync or fdatasync hands the file's
// dirty pages and its size to the backing file and syncs it there. cut
// drops every unsynced byte at once, as a power cut does.
//
// As in Jepsen's LazyFS, file contents and sizes (write, truncate) are
// lost unless synced, while namespace operations (create, rename, unlink,
// mkdir, mknod) reach the backing directory at once, as if each were
// followed by a directory sync. bbolt creates its file once, syncs it
// before using it and never renames it, so contents are what matters for
// the store. A sync is atomic: cut waits for one in progress, so a torn
// sync is not simulated.
type lazyFS struct {
	backing string

	mu    sync.Mutex
	isCut bool
	armed chan struct{} // closed by the cut at the next sync with unsynced data
	files []*lazyFile   // every file opened, to report and close
	stats lazyStats
}

type lazyStats struct {
	syncs        int   // fsync and fdatasync calls that reached a file
	syncedBytes  int64 // bytes written to backing files by them
	droppedBytes int64 // unsynced bytes the cut threw away
	tornBytes    int64 // unsynced bytes a torn cut let reach the disk
}

// lazyFile is one regular file's state, shared by every open of it.
type lazyFile struct {
	path    string // backing path when first opened (for messages)
	fd      int    // the backing file, read-write
	data    []byte // the contents as readers see them
	dirty   map[int64]bool
	durable int64 // the backing file's size after the last sync
	minLen  int64 // the smallest size since the last sync: a truncate that shrank
}

const lazyPage = 4096

var errCut = syscall.EIO // what every operation answers after the cut

// lazyNode is a loopback node whose regular file keeps its unsynced
// state in a lazyFile (nil until first opened; guarded by lfs.mu).
type lazyNode struct {
	*fs.LoopbackNode
	lfs  *lazyFS
	file *lazyFile
}

var (
	_ fs.NodeWrapChilder    = (*lazyNode)(nil)
	_ fs.NodeOpener         = (*lazyNode)(nil)
	_ fs.NodeCreater        = (*lazyNode)(nil)
	_ fs.NodeGetattrer      = (*lazyNode)(nil)
	_ fs.NodeStatxer        = (*lazyNode)(nil)
	_ fs.NodeSetattrer      = (*lazyNode)(nil)
	_ fs.NodeFsyncer        = (*lazyNode)(nil)
	_ fs.NodeCopyFileRanger = (*lazyNode)(nil)
	_ fs.NodeTmpfiler       = (*lazyNode)(nil)
)

// WrapChild makes every node the loopback creates a lazyNode.
func (n *lazyNode) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &lazyNode{LoopbackNode: ops.(*fs.LoopbackNode), lfs: n.lfs}
}

func (n *lazyNode) regular() bool { return n.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFREG }

// state returns the node's file state, reading the backing file (at rel,
// relative to the backing directory) the first time. The caller holds
// lfs.mu.
func (n *lazyNode) state(rel string) (*lazyFile, syscall.Errno) {
	if n.lfs.isCut {
		return nil, errCut
	}
	if n.file != nil {
		return n.file, 0
	}
	p := filepath.Join(n.lfs.backing, rel)
	fd, err := syscall.Open(p, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, fs.ToErrno(err)
	}
	data := make([]byte, st.Size)
	for off := 0; off < len(data); {
		m, err := syscall.Pread(fd, data[off:], int64(off))
		if err != nil || m == 0 {
			syscall.Close(fd)
			return nil, syscall.EIO
		}
		off += m
	}
	f := &lazyFile{path: p, fd: fd, data: data, dirty: map[int64]bool{}, durable: st.Size, minLen: st.Size}
	n.file = f
	n.lfs.files = append(n.lfs.files, f)
	return f, 0
}

func (n *lazyNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if !n.regular() {
		return n.LoopbackNode.Open(ctx, flags)
	}
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	f, errno := n.state(n.Path(nil))
	if errno != 0 {
		return nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		f.truncate(0)
	}
	return &lazyHandle{n: n}, 0, 0
}

// Create makes the file in the backing directory at once (a namespace
// operation) and serves it from memory from then on.
func (n *lazyNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ch, fh, _, errno := n.LoopbackNode.Create(ctx, name, flags&^syscall.O_TRUNC, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if r, ok := fh.(fs.FileReleaser); ok {
		r.Release(ctx)
	}
	child := ch.Operations().(*lazyNode)
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	// The child is not in the tree yet: it has no path of its own.
	f, errno := child.state(filepath.Join(n.Path(nil), name))
	if errno != 0 {
		return nil, nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		f.truncate(0)
	}
	out.Size = uint64(len(f.data))
	return ch, &lazyHandle{n: child}, 0, 0
}

// size is the file's size as readers see it, if it has been opened.
func (n *lazyNode) size() (uint64, bool) {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if n.file == nil {
		return 0, false
	}
	return uint64(len(n.file.data)), true
}

func (n *lazyNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := n.LoopbackNode.Getattr(ctx, nil, out); errno != 0 {
		return errno
	}
	if sz, ok := n.size(); ok {
		out.Size, out.Blocks = sz, (sz+511)/512
	}
	return 0
}

func (n *lazyNode) Statx(ctx context.Context, _ fs.FileHandle, flags, mask uint32, out *fuse.StatxOut) syscall.Errno {
	if errno := n.LoopbackNode.Statx(ctx, nil, flags, mask, out); errno != 0 {
		return errno
	}
	if sz, ok := n.size(); ok {
		out.Size, out.Blocks = sz, (sz+511)/512
	}
	return 0
}

// Setattr keeps a size change (truncate, ftruncate) in memory and passes
// the rest (mode, owner, times) through.
func (n *lazyNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok && n.regular() {
		n.lfs.mu.Lock()
		f, errno := n.state(n.Path(nil))
		if errno == 0 {
			f.truncate(int64(sz))
		}
		n.lfs.mu.Unlock()
		if errno != 0 {
			return errno
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	if errno := n.LoopbackNode.Setattr(ctx, nil, in, out); errno != 0 {
		return errno
	}
	if sz, ok := n.size(); ok {
		out.Size, out.Blocks = sz, (sz+511)/512
	}
	return 0
}

// syncLatency bounds the time a sync takes before it is done, like a
// disk's flush: a cut in that time loses what the sync would have kept,
// and the server, still waiting in fsync, has acknowledged none of it.
// Without it a sync to a fast backing disk is so short that cuts almost
// never find unsynced data.
const syncLatency = 2 * time.Millisecond

// Fsync covers fsync and fdatasync of files and directories. A directory
// has nothing to sync: namespace operations already reached the backing
// directory.
func (n *lazyNode) Fsync(ctx context.Context, _ fs.FileHandle, flags uint32) syscall.Errno {
	time.Sleep(mrand.N(syncLatency))
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if n.lfs.isCut {
		return errCut
	}
	if n.file == nil {
		return 0
	}
	if n.lfs.armed != nil && len(n.file.dirty) > 0 {
		n.lfs.cutLocked(false)
		return errCut
	}
	return n.lfs.sync(n.file)
}

// CopyFileRange would bypass the memory state; ENOSYS makes the kernel
// copy with reads and writes instead.
func (n *lazyNode) CopyFileRange(context.Context, fs.FileHandle, uint64, *fs.Inode, fs.FileHandle, uint64, uint64, uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

// Tmpfile (O_TMPFILE) is not modelled.
func (n *lazyNode) Tmpfile(context.Context, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EOPNOTSUPP
}

// lazyHandle is one open of a regular file; all opens share the node's
// state.
type lazyHandle struct{ n *lazyNode }

var (
	_ fs.FileReader = (*lazyHandle)(nil)
	_ fs.FileWriter = (*lazyHandle)(nil)
)

func (h *lazyHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	l := h.n.lfs
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isCut {
		return nil, errCut
	}
	f := h.n.file
	if off >= int64(len(f.data)) {
		return fuse.ReadResultData(nil), 0
	}
	// A copy: the result is sent after the lock is released.
	m := copy(dest, f.data[off:])
	return fuse.ReadResultData(dest[:m]), 0
}

func (h *lazyHandle) Write(ctx context.Context, p []byte, off int64) (uint32, syscall.Errno) {
	l := h.n.lfs
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.isCut {
		return 0, errCut
	}
	h.n.file.write(p, off)
	return uint32(len(p)), 0
}

func (f *lazyFile) write(p []byte, off int64) {
	if end := off + int64(len(p)); end > int64(len(f.data)) {
		f.truncate(end)
	}
	copy(f.data[off:], p)
	for pg := off / lazyPage; pg <= (off+int64(len(p))-1)/lazyPage; pg++ {
		f.dirty[pg] = true
	}
}

func (f *lazyFile) truncate(size int64) {
	if size < int64(len(f.data)) {
		f.data = f.data[:size]
		f.minLen = min(f.minLen, size)
		return
	}
	// append copies zeros in, also over bytes a shrink left in capacity.
	f.data = append(f.data, make([]byte, size-int64(len(f.data)))...)
}

// sync writes the file's dirty pages and size to the backing file and
// syncs it. The caller holds l.mu, so a cut never tears it.
func (l *lazyFS) sync(f *lazyFile) syscall.Errno {
	if f.minLen < f.durable {
		// A shrink, perhaps grown back since: what lay beyond must read
		// as zeros, not as the old bytes.
		if err := syscall.Ftruncate(f.fd, f.minLen); err != nil {
			return fs.ToErrno(err)
		}
	}
	for pg := range f.dirty {
		start := pg * lazyPage
		if start >= int64(len(f.data)) {
			continue
		}
		end := min(start+lazyPage, int64(len(f.data)))
		if _, err := syscall.Pwrite(f.fd, f.data[start:end], start); err != nil {
			return fs.ToErrno(err)
		}
		l.stats.syncedBytes += end - start
	}
	if err := syscall.Ftruncate(f.fd, int64(len(f.data))); err != nil {
		return fs.ToErrno(err)
	}
	if err := syscall.Fsync(f.fd); err != nil {
		return fs.ToErrno(err)
	}
	clear(f.dirty)
	f.durable, f.minLen = int64(len(f.data)), int64(len(f.data))
	l.stats.syncs++
	return 0
}

// cutMode says when the power goes and what the disk kept of what was
// never synced.
type cutMode int

const (
	// cutNow: at once; every unsynced byte is lost.
	cutNow cutMode = iota
	// cutMidSync: when the next fsync arrives with unsynced data, the
	// moment a commit waits for its pages to reach the disk; they are
	// all lost, and the fsync fails.
	cutMidSync
	// cutTorn: at once, but a random half of the unsynced pages inside
	// the synced size reach the disk, as a disk writes back some of its
	// cache before the power goes, in no particular order.
	cutTorn
)

func (c cutMode) String() string {
	return [...]string{"at once", "mid-fsync", "at once, torn"}[c]
}

// cut is the power cut: the unsynced bytes are gone (in a torn cut, half
// of the pages reach the disk first) and every later operation fails. It
// returns the counts so far.
func (l *lazyFS) cut(torn bool) lazyStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cutLocked(torn)
	return l.stats
}

func (l *lazyFS) cutLocked(torn bool) {
	if l.isCut {
		return
	}
	l.isCut = true
	for _, f := range l.files {
		for pg := range f.dirty {
			start := pg * lazyPage
			if start >= int64(len(f.data)) {
				continue
			}
			page := f.data[start:min(start+lazyPage, int64(len(f.data)))]
			if torn && start+int64(len(page)) <= f.durable && mrand.N(2) == 0 {
				if _, err := syscall.Pwrite(f.fd, page, start); err == nil {
					l.stats.tornBytes += int64(len(page))
					continue
				}
			}
			l.stats.droppedBytes += int64(len(page))
		}
		f.data, f.dirty = nil, nil
		syscall.Close(f.fd)
	}
	if l.armed != nil {
		close(l.armed)
		l.armed = nil
	}
}

// cutAtNextSync arms a cutMidSync; the channel is closed once it happened.
func (l *lazyFS) cutAtNextSync() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{})
	if l.isCut {
		close(ch)
	} else {
		l.armed = ch
	}
	return ch
}

// mount is a lazyFS over backing.
type mount struct {
	dir    string
	lfs    *lazyFS
	server *fuse.Server
}

// mountLazy mounts a lazyFS of backing on mnt and unmounts it when the
// test ends (before its temporary directories are removed). Where FUSE is
// impossible the test skips, or fails when CI=true.
func mountLazy(t *testing.T, backing, mnt string) *mount {
	t.Helper()
	if why := fuseUnavailable(); why != "" {
		noFUSE(t, why)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		t.Fatal(err)
	}
	lfs := &lazyFS{backing: backing}
	rootData := &fs.LoopbackRoot{Path: backing, Dev: uint64(st.Dev)}
	root := &lazyNode{LoopbackNode: &fs.LoopbackNode{RootData: rootData}, lfs: lfs}
	rootData.RootNode = root
	sec := time.Second
	server, err := fs.Mount(mnt, root, &fs.Options{
		AttrTimeout:  &sec,
		EntryTimeout: &sec,
		MountOptions: fuse.MountOptions{
			// mount(2) itself: no fusermount binary needed, and no
			// silent fallback to one.
			DirectMountStrict: true,
			FsName:            "lazyfs",
			Name:              "powercut",
			Debug:             os.Getenv("CERTMAKER_POWERCUT_FUSE_DEBUG") == "1",
		},
	})
	if err != nil {
		noFUSE(t, fmt.Sprintf("mounting FUSE on %s: %v", mnt, err))
	}
	m := &mount{dir: mnt, lfs: lfs, server: server}
	t.Cleanup(func() { m.unmount(t) })
	return m
}

// powerCut is the power cut: the unsynced bytes are lost and every later
// operation fails (for cutMidSync, once the next fsync with unsynced data
// arrives, or after 5 s); then kill ends the processes that use the
// mount, and it is unmounted. The cut comes before the kill because
// SIGKILL waits for the file system requests a process has in flight,
// fsync among them: after the kill there would be nothing unsynced left
// to lose. It returns the file system's counts.
func (m *mount) powerCut(t *testing.T, mode cutMode, kill func()) lazyStats {
	t.Helper()
	if mode == cutMidSync {
		select {
		case <-m.lfs.cutAtNextSync():
		case <-time.After(5 * time.Second):
			t.Errorf("no fsync with unsynced data came within 5 s of arming the cut: cutting at once")
		}
	}
	stats := m.lfs.cut(mode == cutTorn)
	kill()
	m.unmount(t)
	return stats
}

func (m *mount) unmount(t *testing.T) {
	t.Helper()
	if m.server == nil {
		return
	}
	m.lfs.cut(false) // never flush on the way out
	var err error
	for range 50 {
		// EBUSY while the kernel still closes a killed process's files.
		if err = m.server.Unmount(); err == nil {
			m.server.Wait()
			m.server = nil
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Detach it so the test's directories can go; the test has failed.
	unix.Unmount(m.dir, unix.MNT_DETACH)
	m.server = nil
	t.Errorf("unmounting %s: %v", m.dir, err)
}

// fuseUnavailable says why a FUSE mount cannot work here, or "".
func fuseUnavailable() string {
	if os.Geteuid() != 0 {
		return "not root: the lazy file system is mounted with mount(2)"
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Sprintf("no FUSE device: %v", errors.Unwrap(err))
	}
	return ""
}

// noFUSE skips the test, except on CI and in make powercut-test
// (CERTMAKER_POWERCUT_REQUIRE=1), where a power-cut test that cannot run
// must not pass for one that did.
func noFUSE(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" || os.Getenv("CERTMAKER_POWERCUT_REQUIRE") == "1" {
		t.Fatalf("power-cut test cannot run: %s (CI=true or CERTMAKER_POWERCUT_REQUIRE=1: failing instead of skipping)", why)
	}
	t.Skipf("power-cut test skipped: %s (with CI=true this fails)", why)
}
