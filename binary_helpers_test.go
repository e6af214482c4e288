package main

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// tryDo is server.do for goroutines, which must not call t.Fatal: it
// returns the transport error instead.
func tryDo(base, method, path, token, body string) (int, http.Header, string, error) {
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	if token != "" {
		req.Header.Set("X-Auth-Token", token)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}
