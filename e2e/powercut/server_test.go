package powercut

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"certmaker/internal/binarytest"
)

// binary is the certmaker these tests run, built once, as an operator
// would run it.
var binary string

func TestMain(m *testing.M) {
	if path := os.Getenv(mmapHelperEnv); path != "" {
		if err := mmapHelper(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "certmaker-powercut")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "certmaker")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = filepath.Join("..", "..") // the certmaker module, with its own go.sum
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building certmaker: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// rig is one CA under test: its working directory (the config), the
// backing directory that plays the disk, the mount point of the lazy file
// system over it, one fixed address (ACME URLs stay valid across
// restarts), a user with a token and an ACME EAB key, and the http-01
// responder its ACME clients answer challenges with.
type rig struct {
	work, disk, mnt string
	addr, url       string
	token           string // alice's
	eabKID          string
	eabKey          []byte
	acmeNames       []string // one per ACME client, resolving to the responder
	solver          *binarytest.Solver
	// hc asks the restarted server. Its idle connections are closed
	// before a stop: http.Server.Shutdown waits 5 s for a connection that
	// never sent a request, which Go's transport leaves behind when it
	// dials one in parallel and then reuses another.
	hc *http.Client
}

// newRig makes the CA on the plain backing directory (first start: root,
// admin, user alice and her EAB key) and stops it cleanly, so that every
// round starts from a synced file.
func newRig(t *testing.T, acmeClients int) *rig {
	t.Helper()
	base := t.TempDir()
	r := &rig{
		work: filepath.Join(base, "work"), disk: filepath.Join(base, "disk"), mnt: filepath.Join(base, "mnt"),
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}},
	}
	t.Cleanup(r.hc.CloseIdleConnections)
	for _, d := range []string{r.work, r.disk, r.mnt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	r.solver = binarytest.NewSolver(t)
	for i := range max(acmeClients, 1) {
		r.acmeNames = append(r.acmeNames, fmt.Sprintf("acme%d.powercut.test", i))
	}
	// The solver listens above 1023, which challenges refuse unless listed.
	conf := r.solver.HostsTOML(r.acmeNames, "")
	if err := os.WriteFile(filepath.Join(r.work, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.addr = freeAddr(t)
	r.url = "http://" + r.addr

	srv := r.start(t, r.disk)
	r.token = strings.TrimSpace(r.cli(t, r.disk, "user", "add", "alice"))
	for _, line := range strings.Split(r.cli(t, r.disk, "user", "acme-eab", "alice"), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "EAB_KID":
			r.eabKID = v
		case "EAB_HMAC_KEY":
			key, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil {
				t.Fatalf("EAB HMAC key %q: %v", v, err)
			}
			r.eabKey = key
		}
	}
	if r.eabKID == "" || len(r.eabKey) == 0 {
		t.Fatal("user acme-eab printed no key")
	}
	r.stop(t, srv)
	return r
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (r *rig) db(dir string) string { return filepath.Join(dir, "certmaker.db") }

// cli runs a certmaker subcommand on the database in dir: over the
// running server's socket, as an operator would.
func (r *rig) cli(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--db", r.db(dir)}, args...)...)
	cmd.Dir = r.work
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("certmaker %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// server is one run of `certmaker serve`.
type server struct {
	*binarytest.Server
	gone bool // its exit has been waited for
}

// start runs `certmaker serve` on the database in dir and waits until it
// serves; env is added to the server's environment.
func (r *rig) start(t *testing.T, dir string, env ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, "--db", r.db(dir), "serve", "--listen", r.addr, "--public-url", r.url)
	cmd.Dir = r.work
	cmd.Env = append(os.Environ(), env...)
	s := &server{Server: binarytest.StartCmd(t, cmd, r.url)}
	t.Cleanup(s.kill)
	return s
}

// kill is the server's half of a power cut: SIGKILL, and wait until it is
// gone (and with it every request it had in flight).
func (s *server) kill() {
	s.Cmd.Process.Kill()
	if !s.gone {
		<-s.Exited
		s.gone = true
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (r *rig) stop(t *testing.T, s *server) {
	t.Helper()
	r.hc.CloseIdleConnections()
	s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.Exited:
		s.gone = true
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, s.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
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
