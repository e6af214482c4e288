// Package powercut holds certmaker's power-cut tests and nothing else.
//
// A SIGKILL leaves the kernel's page cache alone, so writes a process never
// synced still reach the disk; a power cut does not. These tests run the
// real certmaker binary with its database on a FUSE file system (lazyFS,
// modelled on Jepsen's LazyFS) that keeps written but unsynced bytes in
// memory and hands them to the backing directory only on fsync. A cut
// SIGKILLs the server, drops every unsynced byte and unmounts; the next
// start runs on the backing directory, which holds exactly what a disk
// would after the power came back, and every certificate, ACME order and
// revocation that was acknowledged before the cut must be there.
//
// The tests need /dev/fuse and root (the mount is made with mount(2), no
// fusermount). Without them they skip, or fail when CI=true.
package powercut
