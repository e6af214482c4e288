package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTool finds a tool the tests need; scripts/deps.sh installs it. On a
// developer's machine without it the test is skipped; on CI (CI set) a
// missing tool fails the test, so that a check cannot silently stop running.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI is set: run scripts/deps.sh", name)
	}
	t.Skipf("%s is not installed (scripts/deps.sh installs it); skipping", name)
	return ""
}

// TestBinary_CommitsAreSynced runs the real server under strace and counts
// its fdatasync and fsync calls around certificates issued one at a time:
// every answered certificate must have cost at least one. With bbolt's
// NoSync (or any commit that skips the disk) the count stays flat and
// every other test still passes.
func TestBinary_CommitsAreSynced(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("strace is Linux's")
	}
	strace := needTool(t, "strace")
	dir := t.TempDir()
	trace := filepath.Join(dir, "strace.log")
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(strace, "-f", "-qq", "-e", "trace=fdatasync,fsync,sync_file_range", "-o", trace,
		string(binary), "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--public-url", url)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // to stop strace and the server together
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); <-exited })

	var stderr strings.Builder
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "msg=serving") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case err := <-exited:
		// strace itself may be refused (no ptrace in some containers).
		t.Fatalf("strace + serve exited: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve under strace did not start\n%s", stderr.String())
	}
	srv := &server{URL: url}
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))

	syncs := func() int {
		t.Helper()
		b, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			// "1234  fdatasync(7) = 0", or its resumed half
			if strings.Contains(line, "sync(") || strings.Contains(line, "sync_file_range(") {
				n++
			}
		}
		return n
	}
	// strace writes a line per call as it returns; give a commit's calls a
	// moment to reach the file before counting.
	settle := func() int {
		t.Helper()
		n := syncs()
		for range 20 {
			time.Sleep(50 * time.Millisecond)
			m := syncs()
			if m == n {
				return n
			}
			n = m
		}
		return n
	}

	const certs = 5
	for i := range certs {
		before := settle()
		code, _, body := srv.Do(t, "POST", "/api/certificate/request", token, fmt.Sprintf(`{"domains":["sync%d.home.lan"]}`, i))
		if code != 200 {
			t.Fatalf("request: %d %s", code, body)
		}
		if got := settle() - before; got < 1 {
			t.Errorf("certificate %d was answered after %d fdatasync/fsync calls, want at least 1", i, got)
		}
	}
	if n := syncs(); n < certs {
		t.Errorf("%d sync calls in all for %d certificates", n, certs)
	}
}

// TestBinary_NewDatabaseDirectorySynced: creating the database syncs its
// directory, so a power cut right after the first start cannot lose the
// file's name (and with it the root and the admin token just printed).
func TestBinary_NewDatabaseDirectorySynced(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("strace is Linux's")
	}
	strace := needTool(t, "strace")
	dir := t.TempDir()
	trace := filepath.Join(dir, "strace.log")
	cmd := exec.Command(strace, "-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", "-o", trace, string(binary), "init")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init under strace: %v\n%s", err, out)
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	// strace -y names the descriptor's path: fsync(3</tmp/.../001>) = 0
	want := "fsync("
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, want) && strings.Contains(line, "<"+dir+">") && strings.HasSuffix(strings.TrimSpace(line), "= 0") {
			found = true
		}
	}
	if !found {
		t.Errorf("no fsync of %s after creating the database:\n%s", dir, b)
	}
}
