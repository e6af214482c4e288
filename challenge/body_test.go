package challenge

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func FuzzReadBody(f *testing.F) {
	f.Add([]byte("tok"), "tok", uint16(128))
	f.Add([]byte("tok\n"), "tok", uint16(128))
	f.Add([]byte(" \t\r\ntok \r\n"), "tok", uint16(128))
	f.Add([]byte("tok tok"), "tok", uint16(128))
	f.Add([]byte(""), "", uint16(0))
	f.Add([]byte("x"), "x", uint16(0))
	f.Add(bytes.Repeat([]byte("a"), 129), strings.Repeat("a", 129), uint16(128))
	f.Add(bytes.Repeat([]byte("a"), 128), strings.Repeat("a", 128), uint16(128))
	f.Add([]byte("\xff\xfe tok\u00a0"), "\xff\xfe tok", uint16(16))
	f.Fuzz(func(t *testing.T, data []byte, want string, max uint16) {
		// One byte per Read: short reads must not end the body early.
		body, err := readBody(iotest.OneByteReader(bytes.NewReader(data)), int64(max))
		if len(data) > int(max) {
			if !errors.Is(err, errBodyTooLarge) {
				t.Fatalf("readBody(%d bytes, max %d) = %q, %v; want errBodyTooLarge", len(data), max, body, err)
			}
			return
		}
		if err != nil || !bytes.Equal(body, data) {
			t.Fatalf("readBody(%q, max %d) = %q, %v; want the body back", data, max, body, err)
		}
		got, expect := matches(body, want), strings.TrimSpace(string(data)) == want
		if got != expect {
			t.Fatalf("matches(%q, %q) = %v, want %v", body, want, got, expect)
		}
	})
}

// endless counts what is read from a body that never ends.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestReadBody_StopsReading(t *testing.T) {
	r := &endless{}
	if _, err := readBody(r, 128); !errors.Is(err, errBodyTooLarge) {
		t.Fatalf("readBody(endless) = %v, want errBodyTooLarge", err)
	}
	if r.n != 129 {
		t.Errorf("read %d bytes, want 129", r.n)
	}
}

func TestReadBody_Error(t *testing.T) {
	cause := errors.New("boom")
	r := io.MultiReader(strings.NewReader("tok"), iotest.ErrReader(cause))
	if _, err := readBody(r, 128); !errors.Is(err, cause) {
		t.Fatalf("readBody = %v, want %v", err, cause)
	}
}

func TestNew_Defaults(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != 5*time.Second || c.concurrency != 4 || c.maxBody != 128 {
		t.Errorf("defaults: timeout %s, concurrency %d, max body %d; want 5s, 4, 128", c.timeout, c.concurrency, c.maxBody)
	}
	if got := cap(c.inFlight.total); got != 16 {
		t.Errorf("default max in flight %d, want 16", got)
	}
	if got := c.inFlight.perRequester; got != 4 {
		t.Errorf("default max per requester %d, want 4", got)
	}
	if c.resolver != Resolver(net.DefaultResolver) {
		t.Errorf("resolver %v, want net.DefaultResolver", c.resolver)
	}
}
