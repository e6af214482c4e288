package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestBinary_GiantHeaders checks the limit of the http.Server the binary
// really runs: 64 KiB of headers, then 431, and the server carries on.
func TestBinary_GiantHeaders(t *testing.T) {
	dir := t.TempDir()
	srv := binary.Start(t, dir)
	get := func(name, value string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
		req.Header.Set(name, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range []struct {
		name, header string
		size, want   int
	}{
		{"Normal", "X-Padding", 1 << 10, 200},
		{"Under64KiB", "X-Padding", 48 << 10, 200},
		{"Over64KiB", "X-Padding", 100 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"HugeToken", "X-Auth-Token", 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
	} {
		if got := get(c.header, strings.Repeat("x", c.size)); got != c.want {
			t.Errorf("%s: %d bytes of %s: %d, want %d", c.name, c.size, c.header, got, c.want)
		}
	}
	if got := get("X-Padding", "ok"); got != 200 {
		t.Errorf("after giant headers: %d", got)
	}
	srv.Stop(t)
}
