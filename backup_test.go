package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBinary_BackupRestore takes a backup while clients issue
// certificates, then restores it as docs/backup.md says (stop, replace the
// file, start): everything acknowledged before the backup is back, and what
// came after it is not, so the restored file really is the backup.
func TestBinary_BackupRestore(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))

	issue := func(name string) acked {
		t.Helper()
		code, _, body := srv.Do(t, "POST", "/api/certificate/request", token, `{"domains":["`+name+`"]}`)
		if code != 200 {
			t.Fatalf("request %s: %d %s", name, code, body)
		}
		return acked{ID: strings.TrimSpace(body), Name: name}
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
				code, _, body, err := tryDo(srv.URL, "POST", "/api/certificate/request", token,
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
	_, errOut, err := binary.Run(t, dir, "backup", backup)
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
	srv.Stop(t)

	// docs/backup.md's restore: stop (done), keep a copy of the old file, copy
	// the backup over it, start.
	db := filepath.Join(dir, "certmaker.db")
	copyFile(t, db, db+".before-restore")
	copyFile(t, backup, db)
	srv = binary.Start(t, dir)
	if srv.Token != "" {
		t.Error("the restored database printed a new admin token: it looks empty")
	}
	for _, a := range before {
		if err := checkAcked(srv.URL, token, a); err != nil {
			t.Errorf("certificate %s from before the backup: %v", a.Name, err)
		}
	}
	if code, _, _ := srv.Do(t, "GET", "/api/certificate/"+after.ID+"/obtain", token, ""); code != 404 {
		t.Errorf("certificate issued after the backup: %d in the restored database, want 404", code)
	}
	srv.Stop(t)

	// With no server running, backup opens the file itself.
	binary.Must(t, dir, "backup", filepath.Join(dir, "offline.db"))
}

func TestBinary_BackupErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.db")
	_, errOut, err := binary.Run(t, dir, "--db", filepath.Join(dir, "missing.db"), "backup", out)
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
	if _, _, err := binary.Run(t, dir, "backup"); err == nil {
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

// TestBinary_BackupRefusesToOverwrite: `backup FILE` never replaces the
// live database or its socket, however FILE is spelled, and replaces any
// other existing file only with --force. The live case is the one that lost
// data: the copy renamed over the file the server was writing to.
func TestBinary_BackupRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "certmaker.db")
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(db, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(db+".sock", filepath.Join(dir, "sock-link")); err != nil {
		t.Fatal(err)
	}
	// Every spelling of the database, as the command sees it from dir.
	spellings := []string{"certmaker.db", "./certmaker.db", db, "sub/../certmaker.db", "link.db"}

	refusedIn := func(t *testing.T, cwd, what string, args ...string) {
		t.Helper()
		_, errOut, err := binary.Run(t, cwd, args...)
		if err == nil {
			t.Errorf("%s: %v succeeded", what, args)
			return
		}
		if lines := strings.Count(strings.TrimSpace(errOut), "\n"); errOut == "" || lines != 0 {
			t.Errorf("%s: stderr %q, want one line", what, errOut)
		}
		if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine") {
			t.Errorf("%s: stderr %q", what, errOut)
		}
	}
	refused := func(t *testing.T, what string, args ...string) {
		t.Helper()
		refusedIn(t, dir, what, args...)
	}
	checkNoTemp := func(t *testing.T) {
		t.Helper()
		for _, d := range []string{dir, sub} {
			ents, _ := os.ReadDir(d)
			for _, e := range ents {
				if strings.Contains(e.Name(), "tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		}
	}

	t.Run("Serving", func(t *testing.T) {
		srv := binary.Start(t, dir)
		token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
		for _, name := range spellings {
			for _, force := range []bool{false, true} {
				args := []string{"backup", name}
				if force {
					args = append(args, "--force")
				}
				refused(t, "the live database", args...)
			}
		}
		for _, name := range []string{"certmaker.db.sock", "sock-link"} {
			refused(t, "the admin socket", "backup", "--force", name)
		}
		// The same file through --db with another spelling, from elsewhere.
		refusedIn(t, sub, "the database given by --db", "--db", db, "backup", "--force", "../certmaker.db")
		code, _, body := srv.Do(t, "POST", "/api/certificate/request", token, `{"domains":["after.home.lan"]}`)
		if code != 200 {
			t.Fatalf("request: %d %s", code, body)
		}
		id := strings.TrimSpace(body)
		srv.Stop(t)
		checkNoTemp(t)

		// What was answered is still there after a restart.
		srv = binary.Start(t, dir)
		if code, _, _ := srv.Do(t, "GET", "/api/certificate/"+id+"/obtain", token, ""); code != 200 {
			t.Errorf("certificate answered before the refused backups: %d after a restart", code)
		}
		srv.Stop(t)
	})

	t.Run("Offline", func(t *testing.T) {
		before, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range spellings {
			refused(t, "the database", "backup", "--force", name)
		}
		if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
			t.Error("a refused backup changed the database")
		}
		// A stale socket left by a killed server is no backup target either.
		ln, err := net.Listen("unix", db+".sock")
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		refused(t, "a stale admin socket", "backup", "--force", "certmaker.db.sock")
		os.Remove(db + ".sock")
		checkNoTemp(t)
	})

	// The key file is no backup target either: written over, nothing
	// sealed opens again, and the success line named what it destroyed.
	t.Run("KeyFile", func(t *testing.T) {
		key := db + ".key"
		before, err := os.ReadFile(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(key, filepath.Join(dir, "key-link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(key, filepath.Join(sub, "key-hardlink")); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"certmaker.db.key", "./certmaker.db.key", key, "sub/../certmaker.db.key", "key-link", "sub/key-hardlink",
			// The staged key of a rekey, which does not exist between rekeys.
			"certmaker.db.key.new", "sub/../certmaker.db.key.new"} {
			refused(t, "the key file", "backup", "--force", name)
		}
		// A key file named in the configuration, and the server's view.
		other := filepath.Join(sub, "ca.key")
		copyFile(t, key, other)
		refused(t, "a configured key file", "--key-file", other, "backup", "--force", other)
		srv := binary.Start(t, dir)
		refused(t, "the key file while serving", "backup", "--force", "certmaker.db.key")
		srv.Stop(t)
		if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
			t.Error("a refused backup changed the key file")
		}
		for _, name := range []string{"certmaker.db.key.new"} {
			if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				t.Errorf("a refused backup left %s", name)
			}
		}
		checkNoTemp(t)
	})

	t.Run("ExistingFile", func(t *testing.T) {
		old := filepath.Join(sub, "old.db")
		if err := os.WriteFile(old, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, "an existing file", "backup", old)
		if b, _ := os.ReadFile(old); string(b) != "keep me" {
			t.Fatalf("backup without --force replaced an existing file (now %d bytes)", len(b))
		}
		binary.Must(t, dir, "backup", old, "--force")
		// A backup opens with its database's key file, and only with it.
		if _, errOut, err := binary.Run(t, dir, "--db", old, "user", "list"); err == nil || !strings.Contains(errOut, "key file is missing") {
			t.Errorf("the backup opened without its key file: %v %s", err, errOut)
		}
		if out := binary.Must(t, dir, "--db", old, "--key-file", "certmaker.db.key", "user", "list"); !strings.Contains(out, "alice") {
			t.Errorf("the forced backup is not the database:\n%s", out)
		}
		checkNoTemp(t)
	})
}
