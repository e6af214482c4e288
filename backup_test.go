package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBinary_BackupRestore takes a backup while clients issue
// certificates, then restores it as the README says (stop, replace the
// file, start): everything acknowledged before the backup is back, and what
// came after it is not, so the restored file really is the backup.
func TestBinary_BackupRestore(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir)
	token := strings.TrimSpace(mustCLI(t, dir, "user", "add", "alice"))

	issue := func(name string) acked {
		t.Helper()
		code, _, body := srv.do(t, "POST", "/api/certificate/request", token, `{"domains":["`+name+`"]}`)
		if code != 200 {
			t.Fatalf("request %s: %d %s", name, code, body)
		}
		return acked{id: strings.TrimSpace(body), name: name}
	}
	var before []acked
	for i := range 10 {
		before = append(before, issue(fmt.Sprintf("before%d.home.lan", i)))
	}

	// Clients keep issuing while the backup runs.
	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		during  int
		clientE = make(chan error, 4)
	)
	for c := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				code, _, body, err := tryDo(srv.url, "POST", "/api/certificate/request", token,
					fmt.Sprintf(`{"domains":["during-c%d-%d.home.lan"]}`, c, i))
				if err != nil || code != 200 {
					clientE <- fmt.Errorf("request during backup: %d %q %v", code, body, err)
					return
				}
				mu.Lock()
				during++
				mu.Unlock()
			}
		})
	}
	// Let the load build up, so the copy is taken amid commits.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := during
		mu.Unlock()
		if n >= 20 {
			break
		}
	}
	backup := filepath.Join(dir, "certmaker-backup.db")
	_, errOut, err := runCLI(t, dir, "backup", backup)
	stop.Store(true)
	wg.Wait()
	close(clientE)
	for err := range clientE {
		t.Error(err)
	}
	if err != nil {
		t.Fatalf("backup while serving: %v\n%s", err, errOut)
	}
	if fi, err := os.Stat(backup); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file has mode %v, want 0600: it holds every private key", fi.Mode().Perm())
	}
	after := issue("after.home.lan")
	t.Logf("backup taken while 4 clients issued %d certificates", during)
	srv.stop(t)

	// The README's restore: stop (done), keep a copy of the old file, copy
	// the backup over it, start.
	db := filepath.Join(dir, "certmaker.db")
	copyFile(t, db, db+".before-restore")
	copyFile(t, backup, db)
	srv = startServer(t, dir)
	if srv.token != "" {
		t.Error("the restored database printed a new admin token: it looks empty")
	}
	for _, a := range before {
		if err := checkAcked(srv.url, token, a); err != nil {
			t.Errorf("certificate %s from before the backup: %v", a.name, err)
		}
	}
	if code, _, _ := srv.do(t, "GET", "/api/certificate/"+after.id+"/obtain", token, ""); code != 404 {
		t.Errorf("certificate issued after the backup: %d in the restored database, want 404", code)
	}
	srv.stop(t)

	// With no server running, backup opens the file itself.
	mustCLI(t, dir, "backup", filepath.Join(dir, "offline.db"))
}

func TestBinary_BackupErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.db")
	_, errOut, err := runCLI(t, dir, "--db", filepath.Join(dir, "missing.db"), "backup", out)
	if err == nil {
		t.Fatal("backup of a database that does not exist succeeded")
	}
	if lines := strings.Count(strings.TrimSpace(errOut), "\n"); errOut == "" || lines != 0 || !strings.Contains(errOut, "missing.db") {
		t.Errorf("stderr %q: want one line naming the file", errOut)
	}
	for _, p := range []string{out, out + ".tmp", filepath.Join(dir, "missing.db")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed backup", filepath.Base(p))
		}
	}
	if _, _, err := runCLI(t, dir, "backup"); err == nil {
		t.Error("backup without a file name succeeded")
	}
}

// copyFile is `cp src dst`: an existing dst keeps its owner and mode.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
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
