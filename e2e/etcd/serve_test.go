package etcd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two nodes serve one etcd store: a certificate issued through one is
// served by the other with its key, and a backup taken through either is
// a bbolt file that a node of one serves, with the same certificate.
func TestServe_TwoNodesAndBackup(t *testing.T) {
	key, prefix := sharedKey(t), newPrefix()
	dir1, port1 := nodeDir(t, key, prefix, []string{embedded.endpoint})
	n1 := startNode(t, dir1, port1)
	if n1.Token == "" {
		t.Fatalf("the first node printed no admin token\n%s", n1.Stderr)
	}
	dir2, port2 := nodeDir(t, key, prefix, []string{embedded.endpoint})
	n2 := startNode(t, dir2, port2)
	if n2.Token != "" {
		t.Fatalf("the second node made another admin")
	}
	token := strings.TrimSpace(binary.Must(t, dir1, "user", "add", "alice"))
	code, _, body := n1.Do(t, "POST", "/api/certificate/request", token, `{"domains":["a.home.lan"]}`)
	if code != 200 {
		t.Fatalf("issue: %d %s", code, body)
	}
	id := strings.TrimSpace(body)
	for _, path := range []string{"/api/certificate/" + id + "/obtain", "/api/privatekey/" + id + "/obtain"} {
		if code, _, body := n2.Do(t, "GET", path, token, ""); code != 200 {
			t.Fatalf("GET %s on the other node: %d %s", path, code, body)
		}
	}
	// The user made through node 1's socket logs in on node 2.
	if code, _, body := n2.Do(t, "GET", "/api/certificates", token, ""); code != 200 || !strings.Contains(body, id) {
		t.Fatalf("list on node 2: %d %s", code, body)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	binary.Must(t, dir2, "backup", backup)
	// A node of one on the backup, with the same key file.
	solo := t.TempDir()
	if err := os.Rename(backup, filepath.Join(solo, "certmaker.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(solo, "certmaker.db.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	binary.Must(t, solo, "check")
	s := binary.Start(t, solo)
	for _, path := range []string{"/api/certificate/" + id + "/obtain", "/api/privatekey/" + id + "/obtain"} {
		if code, _, body := s.Do(t, "GET", path, token, ""); code != 200 {
			t.Fatalf("GET %s on the backup: %d %s", path, code, body)
		}
	}
}

// Bad or unreachable settings stop a node at start with one line, and so
// does a key file that is not the other nodes'.
func TestServe_RefusesBadSettings(t *testing.T) {
	key, prefix := sharedKey(t), newPrefix()
	dir, port := nodeDir(t, key, prefix, []string{embedded.endpoint})
	startNode(t, dir, port).Stop(t)

	other, _ := nodeDir(t, sharedKey(t), prefix, []string{embedded.endpoint})
	unreachable, _ := nodeDir(t, key, newPrefix(), []string{"127.0.0.1:1"})
	for _, c := range []struct {
		name, dir, want string
	}{
		{"another key file", other, "every node needs the same key file"},
		{"unreachable", unreachable, "does not answer"},
	} {
		_, stderr, err := binary.Run(t, c.dir, "serve")
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if err == nil || !strings.Contains(stderr, c.want) || len(lines) != 1 {
			t.Errorf("%s: err %v, stderr %q", c.name, err, stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "certmaker.toml")
	os.WriteFile(bad, []byte("[store]\nbackend = \"etcd\"\n"), 0o600)
	_, stderr, err := binary.Run(t, filepath.Dir(bad), "serve")
	if err == nil || !strings.Contains(stderr, "store.etcd.endpoints") {
		t.Errorf("no endpoints: err %v, stderr %q", err, stderr)
	}
}

// certmaker migrate --to etcd copies a node of one's file into etcd, where
// a node serves what it held; --to bbolt copies it back into a new file.
func TestMigrate_CLI(t *testing.T) {
	key, prefix := sharedKey(t), newPrefix()
	dir, port := nodeDir(t, key, prefix, []string{embedded.endpoint})
	// First a node of one, on the file beside the same configuration.
	etcdConf := editConf(t, dir, `backend = "etcd"`, `backend = "bbolt"`)
	solo := startNode(t, dir, port)
	token := strings.TrimSpace(binary.Must(t, dir, "user", "add", "alice"))
	var ids []string
	for _, name := range []string{"a.home.lan", "b.home.lan", "c.home.lan"} {
		code, _, body := solo.Do(t, "POST", "/api/certificate/request", token, `{"domains":["`+name+`"]}`)
		if code != 200 {
			t.Fatalf("issue: %d %s", code, body)
		}
		ids = append(ids, strings.TrimSpace(body))
	}
	if code, _, body := solo.Do(t, "POST", "/api/certificate/"+ids[1]+"/revoke", token, `{"reason":"keyCompromise"}`); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if _, stderr, err := binary.Run(t, dir, "migrate", "--to", "etcd"); err == nil || !strings.Contains(stderr, "stop the server") {
		t.Fatalf("migrate while serving: %v %s", err, stderr)
	}
	solo.Stop(t)

	out := binary.Must(t, dir, "migrate", "--to", "etcd")
	if !strings.Contains(out, "certificates 3") || !strings.Contains(out, "users 2") {
		t.Fatalf("migrate said %q", out)
	}
	if _, stderr, err := binary.Run(t, dir, "migrate", "--to", "etcd"); err == nil || !strings.Contains(stderr, "not empty") {
		t.Fatalf("migrating twice: %v %s", err, stderr)
	}
	restoreConf(t, dir, etcdConf)
	node := startNode(t, dir, port)
	for _, id := range ids {
		if code, _, body := node.Do(t, "GET", "/api/certificate/"+id+"/obtain", token, ""); code != 200 {
			t.Fatalf("certificate %s on etcd: %d %s", id, code, body)
		}
	}
	if code, _, body := node.Do(t, "GET", "/api/certificates?revoked=true", token, ""); code != 200 || !strings.Contains(body, ids[1]) || strings.Contains(body, ids[0]) {
		t.Fatalf("revoked listing on etcd: %d %s", code, body)
	}
	node.Stop(t)

	back := filepath.Join(t.TempDir(), "back.db")
	out = binary.Must(t, dir, "migrate", "--to", "bbolt", back)
	if !strings.Contains(out, "certificates 3") {
		t.Fatalf("migrate back said %q", out)
	}
	binary.Must(t, dir, "check", "--db", back)
}

// certmaker init makes a new store under a prefix, and only a new one.
func TestInit_OnEtcd(t *testing.T) {
	dir, _ := nodeDir(t, sharedKey(t), newPrefix(), []string{embedded.endpoint})
	if out := binary.Must(t, dir, "init"); !strings.Contains(out, "root") {
		t.Fatalf("init said %q", out)
	}
	if _, stderr, err := binary.Run(t, dir, "init"); err == nil || !strings.Contains(stderr, "exists already") {
		t.Fatalf("second init: %v %s", err, stderr)
	}
}
