package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBinary_BackupServerKeyFile: the backup command asks the running
// server which key file it uses, refuses to write over that one (named
// neither on the command line nor in a configuration the command reads:
// the server's own [store] key_file or systemd credential) and checks the
// copy with it. A stale copy of the key beside the database let the
// check pass, and the backup replaced the server's key file.
func TestBinary_BackupServerKeyFile(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "etc")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(keys, "certmaker.key")
	srv := binary.Start(t, dir, "--key-file", key)
	defer srv.Stop(t)
	before, err := os.ReadFile(key)
	if err != nil {
		t.Fatalf("the server made no key file at %s: %v", key, err)
	}

	// Without the key file's name, a backup is checked with the server's.
	out := filepath.Join(dir, "out.db")
	if _, errOut, err := binary.Run(t, dir, "backup", out); err != nil {
		t.Errorf("backup of a server with its key file elsewhere: %v\n%s", err, errOut)
	}
	if _, errOut, err := binary.Run(t, dir, "--db", out, "--key-file", key, "user", "list"); err != nil {
		t.Errorf("the backup does not open with the server's key file: %v\n%s", err, errOut)
	}

	// The server's key file is refused, also with a stale copy of the
	// key where the command looks by default.
	copyFile(t, key, filepath.Join(dir, "certmaker.db.key"))
	_, errOut, err := binary.Run(t, dir, "backup", "--force", key)
	if err == nil || !strings.Contains(errOut, "key file") {
		t.Errorf("backup over the server's key file: %v %q, want it refused", err, errOut)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Fatal("the backup replaced the server's key file")
	}
}

// TestBinary_BackupSyncsDirectory: the rename that puts a backup in place
// is made durable by syncing the directory after it (strace watches the
// system calls): without it, a power cut can lose the new name, and with
// it the backup the command said it wrote.
func TestBinary_BackupSyncsDirectory(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("no strace (make deps installs it)")
	}
	dir := t.TempDir()
	binary.Must(t, dir, "init")
	outDir := filepath.Join(dir, "backups")
	if err := os.Mkdir(outDir, 0o700); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(outDir, "ca.db")
	trace := filepath.Join(dir, "trace")
	cmd := exec.Command(strace, "-f", "-qq", "-o", trace, "-e", "trace=openat,rename,renameat,renameat2,fsync", string(binary), "backup", dst)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup under strace: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	renamed := -1
	for i, l := range lines {
		if strings.Contains(l, "rename") && strings.Contains(l, `"`+dst+`"`) && strings.HasSuffix(l, "= 0") {
			renamed = i
		}
	}
	if renamed < 0 {
		t.Fatalf("no rename into %s in the trace:\n%s", dst, raw)
	}
	openDir := regexp.MustCompile(`openat\(AT_FDCWD, "` + regexp.QuoteMeta(outDir) + `", [^)]*\) = (\d+)$`)
	for i := renamed + 1; i < len(lines); i++ {
		m := openDir.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		for _, l := range lines[i+1:] {
			if strings.Contains(l, "fsync("+m[1]+")") && strings.HasSuffix(l, "= 0") {
				return
			}
		}
	}
	t.Errorf("the directory %s was not synced after the rename:\n%s", outDir, strings.Join(lines[renamed:], "\n"))
}
