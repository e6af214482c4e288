package app

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestPlainRedirect_StaysHome: whatever the request line, the plain
// listener's redirect names the public URL's host (a review found an
// opaque request line, "GET x:@evil.example/p", pointed it elsewhere).
func TestPlainRedirect_StaysHome(t *testing.T) {
	h := plainHandler(http.NotFoundHandler(), "https://ca.home.lan")
	for _, line := range []string{"x:@evil.example/p", "/ok?q=1", "//evil.example/p", "http://evil.example/p", "*"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", line)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		srv.Close()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode == http.StatusPermanentRedirect && !strings.HasPrefix(loc, "https://ca.home.lan/") {
			t.Errorf("GET %s: redirected to %q, off the public URL's host", line, loc)
		}
	}
}
