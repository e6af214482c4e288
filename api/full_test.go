package api_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certmaker/internal/smallfs"
	"certmaker/internal/testlog"
)

// TestStorageFull: when commits hit ENOSPC, issuing answers 503 with
// Retry-After and a one-line reason, the log says so once per episode, the
// health check and a metric say degraded; once space returns, issuing
// works again and nothing answered before is lost.
func TestStorageFull(t *testing.T) {
	dir := smallfs.Mount(t, "8m")
	log := &testlog.Buffer{}
	s, db, _, token := newAPIAt(t, filepath.Join(dir, "ca.db"), slog.New(slog.NewJSONHandler(log, nil)))
	e := &logEnv{log: log, db: db, token: token}
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	metrics := httptest.NewServer(s.MetricsHandler())
	t.Cleanup(metrics.Close)
	gauge := func() string {
		t.Helper()
		resp, err := metrics.Client().Get(metrics.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "certmaker_storage_full ") {
				return strings.TrimPrefix(l, "certmaker_storage_full ")
			}
		}
		t.Fatal("no certmaker_storage_full metric")
		return ""
	}
	const body = `{"domains":["full.home.lan"],"key_type":"ed25519"}`
	var issued []string
	for range 5 {
		status, id := e.do(t, "POST", "/api/certificate/request", token, body)
		if status != 200 {
			t.Fatalf("issuing before the disk is full: %d %s", status, id)
		}
		issued = append(issued, strings.TrimSpace(string(id)))
	}
	if g := gauge(); g != "0" {
		t.Errorf("certmaker_storage_full %s before the disk is full, want 0", g)
	}

	filler := filepath.Join(dir, "filler")
	smallfs.Fill(t, filler)
	// Pages freed by earlier commits may still take a few writes; the
	// file must grow soon.
	full := 0
	for i := 0; i < 2000 && full < 4; i++ {
		req := httptest.NewRequest("POST", e.srv.URL+"/api/certificate/request", strings.NewReader(body))
		req.RequestURI = ""
		req.Header.Set("X-Auth-Token", token)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			if full > 0 {
				t.Fatalf("a write succeeded on a full disk after %d refusals", full)
			}
			issued = append(issued, strings.TrimSpace(string(b)))
		case 503:
			full++
			if got := resp.Header.Get("Retry-After"); got == "" {
				t.Error("503 without Retry-After")
			}
			if got := string(b); got != "the CA's storage is full; try again later\n" {
				t.Errorf("503 body %q", got)
			}
		default:
			t.Fatalf("issuing on a full disk: %d %s", resp.StatusCode, b)
		}
	}
	if full < 4 {
		t.Fatalf("the disk never filled: %d refusals", full)
	}
	t.Logf("%d certificates issued, then %d refusals", len(issued), full)
	if status, b := e.do(t, "GET", "/healthz", "", ""); status != 503 || !strings.HasPrefix(string(b), "degraded") {
		t.Errorf("healthz while full: %d %q, want 503 degraded", status, b)
	}
	if g := gauge(); g != "1" {
		t.Errorf("certmaker_storage_full %s while full, want 1", g)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	status, id := e.do(t, "POST", "/api/certificate/request", token, body)
	if status != 200 {
		t.Fatalf("issuing once space is back: %d %s", status, id)
	}
	issued = append(issued, strings.TrimSpace(string(id)))
	if status, b := e.do(t, "GET", "/healthz", "", ""); status != 200 {
		t.Errorf("healthz once space is back: %d %q", status, b)
	}
	if g := gauge(); g != "0" {
		t.Errorf("certmaker_storage_full %s once space is back, want 0", g)
	}
	for _, id := range issued {
		if status, b := e.do(t, "GET", "/api/certificate/"+id+"/obtain", token, ""); status != 200 {
			t.Errorf("certificate %s answered before: %d %s", id, status, b)
		}
	}
	if err := db.Check(); err != nil {
		t.Errorf("database check: %v", err)
	}

	e.srv.Close()
	errorLines, backLines := log.StorageFull(t)
	request503 := 0
	for _, l := range log.Lines(t) {
		if l["msg"] == "request" && l["status"] == float64(503) {
			request503++
		}
	}
	if errorLines != 1 || backLines != 1 {
		t.Errorf("%d error lines and %d recovery lines for one episode of %d refusals, want 1 and 1", errorLines, backLines, full)
	}
	if request503 < full {
		t.Errorf("%d request lines for %d refusals", request503, full)
	}
}
