package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBinary_Notify runs the real server with [notify] pointed at a
// webhook on loopback: `notify test` reaches it, a certificate that is
// due is announced once, and a restart does not announce it again.
func TestBinary_Notify(t *testing.T) {
	var mu sync.Mutex
	var events []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var e map[string]any
		if err := json.Unmarshal(b, &e); err != nil || r.URL.Query().Get("token") != "s3cret" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	defer recv.Close()
	count := func(kind string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, e := range events {
			if e["event"] == kind {
				n++
			}
		}
		return n
	}

	dir := t.TempDir()
	conf := fmt.Sprintf("[notify]\nurls = [%q]\nwarn_days = 2\ninterval = \"1s\"\n", recv.URL+"/hook?token=s3cret")
	if err := os.WriteFile(filepath.Join(dir, "certmaker.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	out := binary.Must(t, dir, "notify", "test")
	if want := recv.URL + "/…: sent"; !strings.Contains(out, want) || strings.Contains(out, "s3cret") {
		t.Fatalf("notify test printed %q, want %q", out, want)
	}
	if count("test") != 1 {
		t.Fatal("the receiver did not get the test message")
	}

	srv := binary.Start(t, dir)
	code, _, id := srv.Do(t, "POST", "/api/certificate/request", srv.Token, `{"domains":["nas.home.lan"],"days":1}`)
	if code != 200 {
		t.Fatalf("request: %d %s", code, id)
	}
	for deadline := time.Now().Add(15 * time.Second); count("certificate_expiring") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no warning for a certificate that ends within warn_days")
		}
	}
	time.Sleep(2500 * time.Millisecond) // two more checks
	srv.Stop(t)
	logged := srv.Stderr.String()
	if n := count("certificate_expiring"); n != 1 {
		t.Fatalf("%d warnings, want 1", n)
	}
	mu.Lock()
	cert, _ := events[len(events)-1]["certificate"].(map[string]any)
	mu.Unlock()
	if cert["id"] != strings.TrimSpace(id) {
		t.Errorf("warned about %v, want %s", cert["id"], id)
	}
	if strings.Contains(logged, "s3cret") {
		t.Error("the server logged the webhook's token")
	}

	again := binary.Start(t, dir)
	time.Sleep(2500 * time.Millisecond)
	again.Stop(t)
	if n := count("certificate_expiring"); n != 1 {
		t.Fatalf("after a restart: %d warnings, want still 1", n)
	}
}
