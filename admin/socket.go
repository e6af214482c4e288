package admin

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// ErrUntrusted means the admin socket may not be our own server's: another
// user could have made it, could reach it, or runs the process behind it.
// The command stops there rather than fall back to the file: a socket that
// is not ours beside the database means someone else can write to its
// directory, which the operator must know about.
var ErrUntrusted = errors.New("untrusted admin socket")

// trust is who may be on the other end of the admin socket: our own uid
// and root's (who can read the database anyway), and for the client the
// owner of the database beside the socket, whose server it is: root runs
// admin commands against a server with a uid of its own (systemd's
// DynamicUser). Another user cannot own that file without owning the
// database itself.
type trust struct{ uids []uint32 }

func serverTrust() trust { return trust{[]uint32{uint32(os.Getuid()), 0}} }

func clientTrust(socket string) trust {
	t := serverTrust()
	db := strings.TrimSuffix(socket, ".sock")
	// The database's owner counts only for a regular file (not a symlink
	// someone pointed at another user's file) in a directory no one else
	// may write to: in one that others can write, anyone could have put
	// both the file and the socket there.
	dir, err := os.Stat(filepath.Dir(db))
	if err != nil || dir.Mode().Perm()&0o022 != 0 {
		return t
	}
	if fi, err := os.Lstat(db); err == nil && fi.Mode().IsRegular() {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			t.uids = append(t.uids, st.Uid)
		}
	}
	return t
}

func (t trust) allows(uid uint32) bool { return slices.Contains(t.uids, uid) }

// checkSocketFile refuses a socket that is not ours (or root's) or that
// other users may connect to: with the database in a directory others can
// write, anyone could have put it there.
func checkSocketFile(path string, t trust) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("%w %s: %v", ErrUntrusted, path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("%w %s: it is not a socket (%v); remove it", ErrUntrusted, path, fi.Mode().Type())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !t.allows(st.Uid) {
		return fmt.Errorf("%w %s: it belongs to uid %d, neither you (uid %d), root nor the database's owner; remove it, and make its directory writable by you alone", ErrUntrusted, path, st.Uid, os.Getuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w %s: other users may connect to it (mode %04o); remove it, and keep its directory writable by you alone", ErrUntrusted, path, perm)
	}
	return nil
}

// checkPeer refuses a connection whose other end runs as a uid that is
// neither ours nor root's, as the kernel reports it (SO_PEERCRED): the
// file's owner and mode can be swapped after we looked, the peer cannot.
func checkPeer(c net.Conn, path, role string, t trust) error {
	uid, ok, err := peerUID(c)
	if err != nil {
		return fmt.Errorf("%w %s: asking who the %s is: %v", ErrUntrusted, path, role, err)
	}
	if ok && !t.allows(uid) {
		return fmt.Errorf("%w %s: the %s runs as uid %d, neither you (uid %d), root nor the database's owner", ErrUntrusted, path, role, uid, os.Getuid())
	}
	return nil
}

// OwnerOnly wraps the server's admin listener: a connection from a process
// of another uid than the server's (or root's) is closed before a byte is
// read, and refused is told why. The socket's mode (0600) already keeps
// other users out; this holds even if the mode or its directory does not.
func OwnerOnly(ln net.Listener, refused func(error)) net.Listener {
	return &ownerListener{Listener: ln, refused: refused}
}

type ownerListener struct {
	net.Listener
	refused func(error)
}

func (l *ownerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := checkPeer(c, l.Addr().String(), "client", serverTrust()); err != nil {
			c.Close()
			l.refused(err)
			continue
		}
		return c, nil
	}
}
