package api_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"certmaker/app"
	"certmaker/ca"
	"certmaker/internal/testlog"
	"certmaker/store"
)

// logEnv is a real API (bbolt file, authority, root, a user) logging JSON
// at level into a buffer, with one issued certificate to ask OCSP about.
type logEnv struct {
	srv   *httptest.Server
	db    *store.DB
	log   *testlog.Buffer
	token string
	ocsp  string // GET path of an OCSP request for leaf
	der   []byte // the same request, for POST
	leaf  *x509.Certificate
	root  *ca.Issuer
}

func newLogEnv(t *testing.T, level slog.Level) *logEnv {
	t.Helper()
	e := &logEnv{log: &testlog.Buffer{}}
	var s *app.App
	s, e.db, e.root, e.token = newAPI(t, slog.New(slog.NewJSONHandler(e.log, &slog.HandlerOptions{Level: level})))
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)

	status, body := e.do(t, "POST", "/api/certificate/request", e.token, `{"domains":["app.example.com"],"key_type":"ecdsa-p256"}`)
	if status != 200 {
		t.Fatalf("issuing: %d %s", status, body)
	}
	e.leaf, e.der = ocspRequestFor(t, e.db, e.root, string(body))
	e.ocsp = "/api/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(e.der))
	return e
}

func (e *logEnv) do(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// requestLines returns the "request" log lines, after every handler has
// returned (the line is written once the answer is complete).
func (e *logEnv) requestLines(t *testing.T) []map[string]any {
	t.Helper()
	e.srv.Close()
	var out []map[string]any
	for _, l := range e.log.Lines(t) {
		if l["msg"] == "request" {
			out = append(out, l)
		}
	}
	return out
}

// TestLogRequest_Levels: OCSP, CRL and health check successes log at
// Debug, other requests at Info, failures at Error, each with its route
// and status and never the raw path.
func TestLogRequest_Levels(t *testing.T) {
	e := newLogEnv(t, slog.LevelDebug)
	const unknownFP = "00000000000000000000000000000000000000000000000000000000000000ff"
	type want struct {
		method, route string
		status        int
		level         string
	}
	var wants []want
	check := func(method, path, token, body string, w want) {
		t.Helper()
		if status, _ := e.do(t, method, path, token, body); status != w.status {
			t.Fatalf("%s %s: status %d, want %d", method, path, status, w.status)
		}
		w.method = method
		wants = append(wants, w)
	}
	check("GET", e.ocsp, "", "", want{route: "/api/ocsp/*request", status: 200, level: "DEBUG"})
	check("GET", strings.Replace(e.ocsp, "/api/", "/api/v1/", 1), "", "", want{route: "/api/v1/ocsp/*request", status: 200, level: "DEBUG"})
	check("POST", "/api/ocsp", "", string(e.der), want{route: "/api/ocsp", status: 200, level: "DEBUG"})
	check("GET", "/api/crl", "", "", want{route: "/api/crl", status: 200, level: "DEBUG"})
	check("GET", "/api/crl/"+e.root.Fingerprint, "", "", want{route: "/api/crl/:fingerprint", status: 200, level: "DEBUG"})
	check("GET", "/healthz", "", "", want{route: "/healthz", status: 200, level: "DEBUG"})
	// A failure on a quiet route is not quiet.
	check("GET", "/api/crl/"+unknownFP, "", "", want{route: "/api/crl/:fingerprint", status: 404, level: "INFO"})
	check("GET", "/api/root-certificate/obtain", e.token, "", want{route: "/api/root-certificate/obtain", status: 200, level: "INFO"})
	check("GET", "/api/root-certificate/obtain", "", "", want{route: "/api/root-certificate/obtain", status: 401, level: "INFO"})

	got := e.requestLines(t)
	// The first line is the issuance in newLogEnv.
	if len(got) != len(wants)+1 {
		t.Fatalf("%d request lines, want %d: %v", len(got), len(wants)+1, got)
	}
	for i, w := range wants {
		l := got[i+1]
		if l["level"] != w.level || l["method"] != w.method || l["route"] != w.route || l["status"] != float64(w.status) {
			t.Errorf("line %d = %v, want %s %s %s %d", i+1, l, w.level, w.method, w.route, w.status)
		}
		if _, ok := l["duration"]; !ok {
			t.Errorf("line %d has no duration: %v", i+1, l)
		}
		if _, ok := l["err"]; ok {
			t.Errorf("line %d has an err attribute: %v", i+1, l)
		}
	}
	for _, l := range e.log.Lines(t) {
		if s, _ := json.Marshal(l); strings.Contains(string(s), base64.StdEncoding.EncodeToString(e.der)[:16]) {
			t.Errorf("the OCSP request reached the log: %s", s)
		}
	}
}

// TestLogRequest_InfoLevel is what `certmaker serve` logs (Info): no line
// for a flood of OCSP answers, lines for everything else.
func TestLogRequest_InfoLevel(t *testing.T) {
	e := newLogEnv(t, slog.LevelInfo)
	for range 20 {
		if status, _ := e.do(t, "GET", e.ocsp, "", ""); status != 200 {
			t.Fatalf("OCSP GET: %d", status)
		}
	}
	e.do(t, "GET", "/healthz", "", "")
	e.do(t, "GET", "/api/root-certificate/obtain", e.token, "")
	got := e.requestLines(t)
	if len(got) != 2 || got[0]["route"] != "/api/certificate/request" || got[1]["route"] != "/api/root-certificate/obtain" {
		t.Errorf("request lines at Info = %v, want the issuance and the root download only", got)
	}
	for _, l := range got {
		if c, _ := l["client"].(string); !strings.HasPrefix(c, "127.0.0.1:") {
			t.Errorf("request line %v does not name the client's address", l)
		}
	}
}

// TestLogRequest_Failures: with the database gone, an API failure logs at
// Error with its cause, a failed health check at Info, and an OCSP answer
// that could not read the status reports its error at Error.
func TestLogRequest_Failures(t *testing.T) {
	e := newLogEnv(t, slog.LevelInfo)
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	// The user may come from a cache; the certificate is read from the file.
	obtainPath := "/api/certificate/" + e.leaf.SerialNumber.String() + "/obtain"
	if status, _ := e.do(t, "GET", obtainPath, e.token, ""); status != 500 {
		t.Errorf("obtain with the database closed: %d, want 500", status)
	}
	if status, _ := e.do(t, "GET", "/healthz", "", ""); status != 503 {
		t.Errorf("healthz with the database closed: %d, want 503", status)
	}
	status, body := e.do(t, "GET", e.ocsp, "", "")
	if status != 200 || !bytes.Equal(body, ocsp.InternalErrorErrorResponse) {
		t.Errorf("OCSP with the database closed: %d %x, want 200 and internalError", status, body)
	}
	e.srv.Close()
	var obtain, health, ocspErr bool
	for _, l := range e.log.Lines(t) {
		switch {
		case l["msg"] == "request" && l["route"] == "/api/certificate/:id/obtain":
			obtain = l["level"] == "ERROR" && l["status"] == float64(500) && l["err"] != nil
		case l["msg"] == "request" && l["route"] == "/healthz":
			health = l["level"] == "INFO" && l["status"] == float64(503)
		case l["msg"] == "answering ocsp request":
			ocspErr = l["level"] == "ERROR" && l["err"] != nil
		}
	}
	if !obtain || !health || !ocspErr {
		t.Errorf("obtain logged at Error with err: %v; failed health check at Info: %v; OCSP failure at Error: %v\n%v",
			obtain, health, ocspErr, e.log.Lines(t))
	}
}
