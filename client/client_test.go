package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"certmaker/client"
)

// TestClient_RedirectsStayHome: a server that redirects the client to
// another origin (another host or port, or from https down to plain http)
// must not get its token sent there; a redirect on the same origin is
// followed, and so is one from plain http up to https on the same host
// (the CA's plain listener once it serves HTTPS).
func TestClient_RedirectsStayHome(t *testing.T) {
	var mu sync.Mutex
	var seen []http.Header
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		w.Write([]byte("-----BEGIN CERTIFICATE-----\n"))
	}))
	t.Cleanup(elsewhere.Close)
	var plainURL, tlsURL string
	redirecting := func(w http.ResponseWriter, r *http.Request, self string) {
		switch r.URL.Path {
		case "/api/root-certificate/obtain":
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusPermanentRedirect)
		case "/home/api/root-certificate/obtain":
			http.Redirect(w, r, self+"/moved", http.StatusPermanentRedirect)
		case "/moved":
			w.Write([]byte("root for " + r.Header.Get("X-Auth-Token")))
		case "/upgrade/api/root-certificate/obtain":
			http.Redirect(w, r, tlsURL+"/upgraded/api/root-certificate/obtain", http.StatusPermanentRedirect)
		}
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { redirecting(w, r, plainURL) }))
	t.Cleanup(plain.Close)
	plainURL = plain.URL
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/upgraded/api/root-certificate/obtain" {
			w.Write([]byte("root over https for " + r.Header.Get("X-Auth-Token")))
			return
		}
		// From https down to plain http (on the same host).
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
	}))
	t.Cleanup(secure.Close)
	tlsURL = secure.URL

	ctx := context.Background()
	for _, tc := range []struct {
		name, server string
		hc           *http.Client
	}{
		{"another port", plainURL, nil},
		{"https to http", tlsURL, secure.Client()},
	} {
		c, err := client.New(tc.server, "secret-token", tc.hc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Root(ctx)
		if err == nil || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%s: %v, want a refused redirect", tc.name, err)
		}
	}
	mu.Lock()
	for _, h := range seen {
		if h.Get("X-Auth-Token") != "" {
			t.Errorf("the token reached another origin: %v", h)
		}
	}
	if len(seen) != 0 {
		t.Errorf("%d requests reached another origin", len(seen))
	}
	mu.Unlock()

	// The same origin: followed, token and all.
	c, err := client.New(plainURL+"/home", "secret-token", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Root(ctx)
	if err != nil || string(got) != "root for secret-token" {
		t.Errorf("a redirect on the same origin: %q %v", got, err)
	}
	// Up from plain http to https on the same host: followed.
	if c, err = client.New(plainURL+"/upgrade", "secret-token", secure.Client()); err != nil {
		t.Fatal(err)
	}
	got, err = c.Root(ctx)
	if err != nil || string(got) != "root over https for secret-token" {
		t.Errorf("a redirect from http up to https on the same host: %q %v", got, err)
	}
}
