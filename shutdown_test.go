package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBinary_GracefulShutdown sends SIGTERM while RSA-4096 requests are
// generating their keys: each still gets its 200, the process exits 0,
// removes its socket, and after a restart the certificates are there.
func TestBinary_GracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))

	// Three RSA-4096 keys behind two key-generation slots: the last one is
	// certain to be running (or queued) when the signal arrives.
	const n = 3
	type answer struct {
		code      int
		id, body  string
		after     bool // answered after the signal was sent
		certPath  string
		keyPath   string
		transport error
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		answers  []answer
		signaled bool
	)
	for i := range n {
		wg.Go(func() {
			a := answer{}
			code, hdr, body, err := tryDo(srv.URL, "POST", "/api/certificate/request", token,
				`{"domains":["slow`+string(rune('a'+i))+`.home.lan"],"key_type":"rsa-4096"}`)
			a.code, a.body, a.transport = code, body, err
			a.id = strings.TrimSpace(body)
			if hdr != nil {
				a.certPath = strings.TrimPrefix(hdr.Get("X-Certificate-Location"), srv.URL)
				a.keyPath = strings.TrimPrefix(hdr.Get("X-Privatekey-Location"), srv.URL)
			}
			mu.Lock()
			a.after = signaled
			answers = append(answers, a)
			mu.Unlock()
		})
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	signaled = true
	early := len(answers)
	mu.Unlock()
	if err := srv.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	select {
	case err := <-srv.Exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM, want 0\n%s", err, srv.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit after SIGTERM")
	}
	if early == n {
		t.Fatalf("all %d requests finished before the signal; the test proved nothing", n)
	}
	inFlight := 0
	for _, a := range answers {
		if a.transport != nil || a.code != 200 {
			t.Errorf("request in flight at SIGTERM: %d %q %v; want 200", a.code, a.body, a.transport)
		}
		if a.after {
			inFlight++
		}
	}
	t.Logf("%d of %d RSA-4096 requests were in flight at SIGTERM; all answered 200", inFlight, n)
	if _, err := os.Stat(filepath.Join(dir, "certmaker.db.sock")); !os.IsNotExist(err) {
		t.Errorf("admin socket left behind after SIGTERM: %v", err)
	}

	srv = binary.Start(t, dir)
	for _, a := range answers {
		if code, _, _ := srv.Do(t, "GET", a.certPath, token, ""); code != 200 {
			t.Errorf("certificate %s after restart: %d", a.id, code)
		}
		if code, _, body := srv.Do(t, "GET", a.keyPath, token, ""); code != 200 || !strings.Contains(body, "PRIVATE KEY") {
			t.Errorf("key of %s after restart: %d", a.id, code)
		}
	}
	srv.Stop(t)
}
