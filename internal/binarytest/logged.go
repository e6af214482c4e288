package binarytest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// LoggedServer is a `certmaker serve` whose whole stderr lands in a file,
// read only after the process has exited, so a test can search every line
// it ever logged.
type LoggedServer struct {
	Cmd    *exec.Cmd
	URL    string
	Log    string // the file stderr goes to
	Exited chan error
}

// StartLogged runs `certmaker serve` with its stderr in a file of dir and
// waits until /healthz answers.
func StartLogged(t *testing.T, binary, dir string, args ...string) *LoggedServer {
	t.Helper()
	port := FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	logFile := filepath.Join(dir, fmt.Sprintf("stderr-%d.log", port))
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	args = append(args, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--public-url", url)
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Stderr = dir, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &LoggedServer{Cmd: cmd, URL: url, Log: logFile, Exited: make(chan error, 1)}
	go func() { s.Exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.Exited:
			b, _ := os.ReadFile(logFile)
			t.Fatalf("serve exited: %v\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not answer /healthz")
		}
	}
}

// Stop sends SIGTERM, waits for exit 0 and returns everything logged.
func (s *LoggedServer) Stop(t *testing.T) string {
	t.Helper()
	s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.Exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	b, err := os.ReadFile(s.Log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
