package api_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"certmaker/app"
)

// Odd methods from clients must not each become a new metrics series.
func TestMetrics_MethodLabelBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, m := range []string{"XA", "XB", "BREW", "GET"} {
		e.do(m, "/api/root-certificate/obtain", "alice", "")
	}
	s, ok := e.srv.Config.Handler.(*app.App)
	if !ok {
		t.Fatalf("test server handler is %T", e.srv.Config.Handler)
	}
	rec := httptest.NewRecorder()
	s.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	text := string(body)
	for _, bad := range []string{`method="XA"`, `method="XB"`, `method="BREW"`} {
		if strings.Contains(text, bad) {
			t.Errorf("metrics carry %s", bad)
		}
	}
	if !strings.Contains(text, `method="other"`) || !strings.Contains(text, `method="GET"`) {
		t.Errorf("metrics lack the other/GET series:\n%s", grep(text, "certmaker_http_requests_total"))
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
