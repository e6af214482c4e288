// Package binarytest runs the certmaker binary as an operator would, for
// the tests that build it: the binary tests of package main and the
// end-to-end tests in e2e/ (ACME clients, a browser, the crash test).
package binarytest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is a built certmaker.
type Binary string

// Main builds certmaker from the module in dir into *bin, runs the tests
// and exits with their code: a package's TestMain.
func Main(m *testing.M, dir string, bin *Binary) {
	path, cleanup, err := Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin = Binary(path)
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Run runs a subcommand of b; see Run.
func (b Binary) Run(t *testing.T, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return Run(t, string(b), dir, args...)
}

// Must runs a subcommand of b that must succeed; see Must.
func (b Binary) Must(t *testing.T, dir string, args ...string) string {
	t.Helper()
	return Must(t, string(b), dir, args...)
}

// Start runs b's serve; see Start.
func (b Binary) Start(t *testing.T, dir string, extra ...string) *Server {
	t.Helper()
	return Start(t, string(b), dir, extra...)
}

// StartTLS runs b's serve with HTTPS; see StartTLS.
func (b Binary) StartTLS(t *testing.T, dir, mode, more string) *Server {
	t.Helper()
	return StartTLS(t, string(b), dir, mode, more)
}

// StartLogged runs b's serve with its stderr in a file; see StartLogged.
func (b Binary) StartLogged(t *testing.T, dir string, args ...string) *LoggedServer {
	t.Helper()
	return StartLogged(t, string(b), dir, args...)
}

// Build builds certmaker from the module in dir into a new temporary
// directory; cleanup removes it.
func Build(dir string) (binary string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "certmaker-bin")
	if err != nil {
		return "", nil, err
	}
	binary = filepath.Join(tmp, "certmaker")
	cmd := exec.Command("go", "build", "-o", binary, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("building certmaker: %v\n%s", err, out)
	}
	return binary, func() { os.RemoveAll(tmp) }, nil
}

// Run runs a certmaker subcommand to completion.
func Run(t *testing.T, binary, dir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("certmaker %v hung", args)
	}
	return o.String(), e.String(), err
}

// Must runs a subcommand that must succeed and returns its stdout.
func Must(t *testing.T, binary, dir string, args ...string) string {
	t.Helper()
	out, errOut, err := Run(t, binary, dir, args...)
	if err != nil {
		t.Fatalf("certmaker %v: %v\n%s", args, err, errOut)
	}
	return out
}

// Server is a running `certmaker serve`.
type Server struct {
	Cmd    *exec.Cmd
	URL    string
	Token  string // the bootstrap admin's, if this start printed one
	Stderr *SyncBuffer
	Exited chan error
	// PlainURL is the plain-HTTP listener of a server started with
	// StartTLS (OCSP, CRLs, the CA certificates).
	PlainURL string
	// Client, if set, is what Do sends with (one that trusts the root,
	// for HTTPS); nil is http.DefaultClient.
	Client *http.Client
}

// FreePort is a loopback port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TokenLine is how serve prints the bootstrap admin's token.
var TokenLine = regexp.MustCompile(`^\s{4}(\S{43})$`)

// SyncBuffer is the server's stderr so far: written by the goroutine that
// reads the pipe, read by tests while the server runs.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// WriteString appends s.
func (b *SyncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(s)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start runs `certmaker serve` in dir and waits until it serves.
func Start(t *testing.T, binary, dir string, extra ...string) *Server {
	t.Helper()
	port := FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--public-url", url}, extra...)
	return start(t, binary, dir, url, args)
}

// StartTLS writes dir/certmaker.toml, with [server] serving HTTPS (tls =
// mode) on one loopback port (URL, https://127.0.0.1:port) and plain HTTP
// on another (PlainURL), followed by more (other tables), and runs
// `certmaker serve` in dir; every command run in dir reads the same file.
func StartTLS(t *testing.T, binary, dir, mode, more string) *Server {
	t.Helper()
	port, plainPort := FreePort(t), FreePort(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	conf := fmt.Sprintf("[server]\nlisten = \"127.0.0.1:%d\"\npublic_url = %q\nhttp_listen = \"127.0.0.1:%d\"\ntls = %q\n%s",
		port, url, plainPort, mode, more)
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := start(t, binary, dir, url, []string{"serve"})
	s.PlainURL = fmt.Sprintf("http://127.0.0.1:%d", plainPort)
	return s
}

func start(t *testing.T, binary, dir, url string, args []string) *Server {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	return StartCmd(t, cmd, url)
}

// StartCmd runs cmd, a `certmaker serve` prepared by the caller (its
// arguments, Dir and Env), reachable at url, and waits until it serves.
func StartCmd(t *testing.T, cmd *exec.Cmd, url string) *Server {
	t.Helper()
	pr, pw := io.Pipe()
	s := &Server{Cmd: cmd, URL: url, Stderr: &SyncBuffer{}, Exited: make(chan error, 1)}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.Exited <- cmd.Wait(); pw.Close() }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.Stderr.WriteString(line + "\n")
			if m := TokenLine.FindStringSubmatch(line); m != nil {
				s.Token = m[1]
			}
			if strings.Contains(line, "msg=serving") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case err := <-s.Exited:
		t.Fatalf("serve exited: %v\n%s", err, s.Stderr)
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not start\n%s", s.Stderr)
	}
	t.Cleanup(func() { s.Cmd.Process.Kill() })
	return s
}

// Stop sends SIGTERM and waits for a clean exit.
func (s *Server) Stop(t *testing.T) {
	t.Helper()
	s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.Exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, s.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

// Do sends a request with an API token ("" for none).
func (s *Server) Do(t *testing.T, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TryDo is Server.Do for goroutines, which must not call t.Fatal: it
// returns the transport error instead.
func TryDo(base, method, path, token, body string) (int, http.Header, string, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}
