// Package testlog collects the JSON log a certmaker writes during a test,
// from whichever goroutine, and reads its lines back: the request log, the
// audit trail, warnings.
package testlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Buffer is an io.Writer for a JSON slog handler, safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Logger logs JSON at level Info and above into b.
func (b *Buffer) Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines parses every line written so far.
func (b *Buffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// Messages are the lines with message msg.
func (b *Buffer) Messages(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range b.Lines(t) {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// Audit returns the audit lines of an action written so far.
func (b *Buffer) Audit(t testing.TB, action string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range b.Lines(t) {
		if m["msg"] == "audit" && m["action"] == action {
			out = append(out, m)
		}
	}
	return out
}

// StorageFull counts the core's lines about a full disk: full, when writes
// started failing, and back, when they succeeded again. Any other line at
// level ERROR fails t: a full disk is not the server's error.
func (b *Buffer) StorageFull(t testing.TB) (full, back int) {
	t.Helper()
	for _, l := range b.Lines(t) {
		msg, _ := l["msg"].(string)
		switch {
		case l["level"] == "ERROR" && strings.Contains(msg, "storage is full"):
			full++
		case l["level"] == "ERROR":
			t.Errorf("unexpected error line %v", l)
		case msg == "the CA's storage accepts writes again":
			back++
		}
	}
	return full, back
}
