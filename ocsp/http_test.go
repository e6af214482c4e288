package ocsp

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

func TestResponder_ServeHTTP_Methods(t *testing.T) {
	f := newFixture(t, Config{})
	leaf := f.good(t, f.a, randomSerial(t))
	path := f.srv.URL + "/ocsp/" + base64.StdEncoding.EncodeToString(requestFor(t, leaf, f.a.cert, crypto.SHA1))

	t.Run("PutNotAllowed", func(t *testing.T) {
		resp, _ := do(t, http.MethodPut, path, []byte("x"))
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("status %d Allow %q, want 405 and GET, HEAD, POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	t.Run("HeadAsGet", func(t *testing.T) {
		_, body := get(t, path)
		resp, headBody := do(t, http.MethodHead, path, nil)
		if resp.StatusCode != http.StatusOK || len(headBody) != 0 {
			t.Fatalf("HEAD: status %d, %d body bytes", resp.StatusCode, len(headBody))
		}
		if resp.ContentLength != int64(len(body)) || resp.Header.Get("ETag") == "" {
			t.Errorf("HEAD: Content-Length %d ETag %q, want %d and an ETag", resp.ContentLength, resp.Header.Get("ETag"), len(body))
		}
	})

	t.Run("IfNoneMatch", func(t *testing.T) {
		first, body := get(t, path)
		req, err := http.NewRequest(http.MethodGet, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("If-None-Match", `"other", `+first.Header.Get("ETag"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != first.Header.Get("ETag") {
			t.Errorf("status %d ETag %q, want 304 and the same ETag", resp.StatusCode, resp.Header.Get("ETag"))
		}
		req.Header.Set("If-None-Match", `"other"`)
		resp, again := doRequest(t, req)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(again, body) {
			t.Errorf("status %d for a stale ETag, want 200 and the response", resp.StatusCode)
		}
	})

	t.Run("BehindStripPrefix", func(t *testing.T) {
		srv := httptest.NewServer(http.StripPrefix("/api/ocsp/", f.r))
		defer srv.Close()
		_, body := get(t, srv.URL+"/api/ocsp/"+escapeAll(base64.StdEncoding.EncodeToString(requestFor(t, leaf, f.a.cert, crypto.SHA1))))
		if parsed, err := xocsp.ParseResponseForCert(body, leaf, f.a.cert); err != nil || parsed.Status != xocsp.Good {
			t.Errorf("got %v, %+v; want good", err, parsed)
		}
	})
}

func doRequest(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp, buf.Bytes()
}

func TestDecodeGETPath(t *testing.T) {
	der := []byte{0xfb, 0xff, 0xbf, 0x30, 0x03} // "+/+/MAM=" in standard base64
	tests := []struct {
		name, path string
		want       []byte
	}{
		{"Std", "/ocsp/" + base64.StdEncoding.EncodeToString(der), der},
		{"Escaped", "/ocsp/%2B%2F%2B%2FMAM%3D", der},
		{"RawStd", "/ocsp/+/+/MAM", der},
		{"URLSafe", "/ocsp/-_-_MAM=", der},
		{"RawURLSafe", "/ocsp/-_-_MAM", der},
		// The base64 holds "/ocsp/" itself; only the first one is the route.
		{"FirstOCSPSegment", "/api/ocsp/AA/ocsp/AAAA", []byte("\x00\x0f\xe8r\xca\x7f\x00\x00\x00")},
		{"NoPrefix", "/+/+/MAM=", der},
		{"BadEscape", "/ocsp/%zz", nil},
		{"NotBase64", "/ocsp/a*b", nil},
		{"TooLong", "/ocsp/" + string(bytes.Repeat([]byte("A"), maxGETPath)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeGETPath(tt.path); !bytes.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("decodeGETPath(%q) = %x, want %x", tt.path, got, tt.want)
			}
		})
	}
}

// getRequest must be decodeGETPath(u.EscapedPath()), whatever the request
// line held and whatever a handler in front did to Path.
func FuzzGetRequest(f *testing.F) {
	for _, s := range []string{
		"/api/ocsp/MFMwUTBPME0wSzAJBgUrDgMCGgUABBQ%2B%2F%3D", "/api/ocsp/%2B%2F%2B%2FMAM%3D", "/api/ocsp/MFMw+/=",
		"/ocsp/a%2Fb%22c", "/ocsp/a\"b%2F", "/ocsp/%41", "/ocsp/%2541", "/a?b", "*", "/ocsp/a%20b", "/ocsp/%zz",
		"/api/ocsp/AA%2Focsp%2FAAAA", "/AA%2Focsp%2FAAAA", "%2B%2F%2B%2FMAM%3D", "/ocsp/%2B%2F%2B%2FMAM%3",
	} {
		f.Add(s, "")
		f.Add(s, "/stripped")
	}
	f.Fuzz(func(t *testing.T, target, newPath string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		check := func() {
			got, want := getRequest(u), decodeGETPath(u.EscapedPath())
			if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("getRequest(%q, Path %q) = %x, decodeGETPath(EscapedPath) %x", target, u.Path, got, want)
			}
		}
		check()
		// A handler that changed Path and left RawPath behind.
		if newPath != "" {
			u.Path = newPath
			check()
		}
	})
}

// The requests of scripts/load.sh and of clients that escape nothing take
// the path without the long way's allocations.
func TestGetRequest_Allocations(t *testing.T) {
	der := []byte{0xfb, 0xff, 0xbf, 0x30, 0x03, 0x0a, 0x0b, 0x0c, 0x0d} // "+/+/MAMKCwwN"
	for _, target := range []string{"/api/ocsp/%2B%2F%2B%2FMAMKCwwN", "/api/ocsp/+/+/MAMKCwwN", "/api/ocsp/%2B/+%2FMAMKCwwN"} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatal(err)
		}
		if got := getRequest(u); !bytes.Equal(got, der) {
			t.Fatalf("getRequest(%q) = %x, want %x", target, got, der)
		}
		if n := testing.AllocsPerRun(100, func() { getRequest(u) }); n > 1 {
			t.Errorf("getRequest(%q): %v allocations, want 1 (the request)", target, n)
		}
	}
}

// endlessBody is a request body that never ends. It comes a KiB per
// millisecond: fast enough to pass any limit at once, slow enough that a
// server without one does not fill its memory before the client gives up.
type endlessBody struct{}

func (endlessBody) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	n := min(len(p), 1<<10)
	for i := range n {
		p[i] = 0x30
	}
	return n, nil
}

// An endless POST body is cut at the limit and answered malformedRequest;
// without the limit the server reads until the client gives up.
func TestResponder_ServeHTTP_EndlessPOST(t *testing.T) {
	f := newFixture(t, Config{})
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/api/ocsp", endlessBody{})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST with an endless body: %v; want an answer once the limit is read", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP status %d, want 200", resp.StatusCode)
	}
	checkErrorResponse(t, body, xocsp.Malformed)
}
