package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary_PlantedSocket: another local user plants a socket beside the
// database (mode 0666, as a socket they made for us to reach would be)
// and answers every admin request. user add must not print the planted
// token, cert revoke must not report success, and neither may quietly fall
// back to the file: each says, in one line, that the socket is not trusted.
func TestBinary_PlantedSocket(t *testing.T) {
	dir := t.TempDir()
	binary.Must(t, dir, "init")                 // the database, with no server
	binary.Must(t, dir, "user", "add", "alice") // offline, on the file
	before := binary.Must(t, dir, "user", "list")
	sock := filepath.Join(dir, "certmaker.db.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	planted := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"token":"planted-token"}`)
	})}
	go planted.Serve(ln)
	t.Cleanup(func() { planted.Close() })
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}

	for _, args := range [][]string{{"user", "add", "bob"}, {"cert", "revoke", "123"}, {"user", "list"}} {
		out, errOut, err := binary.Run(t, dir, args...)
		if err == nil {
			t.Errorf("%v with a planted socket succeeded: %q", args, out)
		}
		if strings.Contains(out, "planted") {
			t.Errorf("%v printed the planted server's answer: %q", args, out)
		}
		if lines := strings.Count(strings.TrimSpace(errOut), "\n"); lines != 0 || !strings.Contains(errOut, "certmaker.db.sock") || !strings.Contains(errOut, "untrusted") {
			t.Errorf("%v: stderr %q, want one line saying the socket is untrusted", args, errOut)
		}
	}
	// Nothing was done to the file behind the operator's back either.
	planted.Close()
	os.Remove(sock)
	if list := binary.Must(t, dir, "--db", filepath.Join(dir, "certmaker.db"), "user", "list"); list != before {
		t.Errorf("a refused command still changed the users:\n%s\nbefore:\n%s", list, before)
	}
}
