package admin_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"certmaker/admin"
)

// nobody is the uid the tests give to "another local user".
const nobody = 65534

// plantedHandler is what a hostile server answers: a token of its choosing
// for user add, 200 for anything else (a revoke that did nothing).
var plantedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"token":"planted-token"}`)
})

// plant listens on a socket at path and serves plantedHandler on it.
func plant(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: plantedHandler}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root, to act as another user (uid 65534); CI runs the tests as root")
	}
}

// TestDial_RefusesUntrustedSocket: a socket that another user could have
// made, or could reach, is refused with ErrUntrusted, never used and never
// taken for "no server" (which would fall back to the file silently).
func TestDial_RefusesUntrustedSocket(t *testing.T) {
	ctx := context.Background()
	sock := filepath.Join(t.TempDir(), "ca.db.sock")
	plant(t, sock)

	use := func() (string, error) {
		c, err := admin.Dial(ctx, sock)
		if err != nil {
			return "", err
		}
		return c.AddUser(ctx, "alice", false)
	}
	refused := func(what string) {
		t.Helper()
		tok, err := use()
		if !errors.Is(err, admin.ErrUntrusted) || errors.Is(err, admin.ErrNoServer) {
			t.Errorf("%s: token %q, error %v; want ErrUntrusted", what, tok, err)
		}
		if err != nil && !strings.Contains(err.Error(), sock) {
			t.Errorf("%s: %q does not name the socket", what, err)
		}
	}

	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	refused("mode 0666")
	if err := os.Chmod(sock, 0o660); err != nil {
		t.Fatal(err)
	}
	refused("mode 0660")

	// The control: owner-only, and ours, it is trusted; so the refusals
	// above are the checks', not a broken setup's.
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := use(); err != nil || tok != "planted-token" {
		t.Fatalf("an owner-only socket of our own: %q, %v", tok, err)
	}

	t.Run("OwnedByAnotherUser", func(t *testing.T) {
		needRoot(t)
		if err := os.Chown(sock, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		defer os.Chown(sock, 0, 0)
		refused("owned by uid 65534")
	})
}

// TestDial_RefusesServerOfAnotherUser: the socket file looks right (ours,
// 0600), but the process listening on it runs as another user, as after
// that user swapped sockets in a directory both can write. The client asks
// the kernel who the peer is (SO_PEERCRED) and refuses.
func TestDial_RefusesServerOfAnotherUser(t *testing.T) {
	needRoot(t)
	dir := worldWritableDir(t)
	sock := filepath.Join(dir, "ca.db.sock")
	helper(t, "listen", sock)
	if err := os.Chown(sock, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := admin.Dial(context.Background(), sock)
	if err == nil {
		tok, err := c.AddUser(context.Background(), "alice", false)
		t.Fatalf("a server of uid 65534 was trusted: token %q, %v", tok, err)
	}
	if !errors.Is(err, admin.ErrUntrusted) || !strings.Contains(err.Error(), "65534") {
		t.Errorf("Dial: %v; want ErrUntrusted naming uid 65534", err)
	}
}

// TestDial_TrustsTheDatabaseOwnersServer: root's admin commands reach a
// server that runs as the database's owner (systemd's DynamicUser), socket
// and all owned by that uid.
func TestDial_TrustsTheDatabaseOwnersServer(t *testing.T) {
	needRoot(t)
	// As systemd's DynamicUser lays it out: the state directory belongs
	// to the service's uid and no one else may write to it.
	dir := worldWritableDir(t)
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ca.db")
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(db, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	sock := admin.SocketPath(db)
	helper(t, "listen", sock)
	c, err := admin.Dial(context.Background(), sock)
	if err != nil {
		t.Fatalf("the database owner's server: %v", err)
	}
	if tok, err := c.AddUser(context.Background(), "alice", false); err != nil || tok != "planted-token" {
		t.Fatalf("AddUser: %q, %v", tok, err)
	}
	// The same server beside a database of someone else is refused.
	if err := os.Chown(db, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Dial(context.Background(), sock); !errors.Is(err, admin.ErrUntrusted) {
		t.Errorf("uid 65534's server beside root's database: %v, want ErrUntrusted", err)
	}
	// In a directory others may write, the database's owner proves
	// nothing: whoever planted the socket could have planted the file.
	if err := os.Chown(db, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Dial(context.Background(), sock); !errors.Is(err, admin.ErrUntrusted) {
		t.Errorf("uid 65534's server and database in a world-writable directory: %v, want ErrUntrusted", err)
	}
	// Nor does a symlink named like the database, pointing at the
	// server owner's file.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "elsewhere.db")
	if err := os.Rename(db, other); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, db); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Dial(context.Background(), sock); !errors.Is(err, admin.ErrUntrusted) {
		t.Errorf("a symlink in the database's place: %v, want ErrUntrusted", err)
	}
}

// TestOwnerOnly_RefusesClientOfAnotherUser: even on a socket others can
// reach (here made 0666 on purpose), the server closes a connection from
// a process of another uid before reading a byte, and serves its own.
func TestOwnerOnly_RefusesClientOfAnotherUser(t *testing.T) {
	needRoot(t)
	dir := worldWritableDir(t)
	sock := filepath.Join(dir, "ca.db.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	refusedUIDs := make(chan error, 4)
	srv := admin.NewServer(newOps(t).Operator)
	go srv.Serve(admin.OwnerOnly(ln, func(err error) { refusedUIDs <- err }))
	t.Cleanup(func() { srv.Close() })
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}

	out := helper(t, "request", sock)
	if strings.HasPrefix(out, "status=") {
		t.Errorf("a client of uid 65534 was served: %s", out)
	}
	select {
	case err := <-refusedUIDs:
		if !strings.Contains(err.Error(), "65534") {
			t.Errorf("refusal %q does not name the uid", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the server reported no refusal")
	}

	// Our own uid is served on the same listener.
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://admin/users")
	if err != nil {
		t.Fatalf("our own request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("our own request: %d", resp.StatusCode)
	}
}

// worldWritableDir is a directory any user may create files in, as the
// attack needs; the test binary is copied there so that uid 65534 can run
// it (the build directory is root's alone).
func worldWritableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "certmaker-admin-socket")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// helper runs this test binary as uid 65534 in the role given (see
// TestHelperProcess) and returns its first line of output; for "listen" it
// returns once the socket is up, and the process runs until the test ends.
func helper(t *testing.T, role, sock string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(filepath.Dir(sock), "admin.test")
	if _, err := os.Stat(exe); err != nil {
		copyExecutable(t, self, exe)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "CERTMAKER_ADMIN_HELPER="+role, "CERTMAKER_ADMIN_SOCKET="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	stdin, _ := cmd.StdinPipe() // the listener exits when it closes
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s: %v (%q)", role, err, line)
	}
	return strings.TrimSpace(line)
}

func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHelperProcess is not a test: helper runs it as another user.
//   - listen: serve plantedHandler on the socket, print "ready", run until
//     stdin closes;
//   - request: ask the socket for the user list, print "status=N" or the
//     error.
func TestHelperProcess(t *testing.T) {
	role, sock := os.Getenv("CERTMAKER_ADMIN_HELPER"), os.Getenv("CERTMAKER_ADMIN_SOCKET")
	switch role {
	case "":
		return
	case "listen":
		ln, err := net.Listen("unix", sock)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		// Owner-only, as a server makes it: only the owner is in question.
		if err := os.Chmod(sock, 0o600); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		go http.Serve(ln, plantedHandler)
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
	case "request":
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		resp, err := c.Get("http://admin/users")
		if err != nil {
			fmt.Println("error:", err)
		} else {
			resp.Body.Close()
			fmt.Printf("status=%d\n", resp.StatusCode)
		}
	}
	os.Exit(0)
}
