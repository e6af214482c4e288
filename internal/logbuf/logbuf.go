// Package logbuf collects what a server under test logs as JSON lines
// (slog's JSON handler), from all its goroutines, and reads it back as
// parsed lines: what tests that check the request log or the audit trail
// search.
package logbuf

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// Buffer is an io.Writer for a slog.JSONHandler, safe for concurrent use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Lines parses every line written so far; a line that is not JSON fails
// the test.
func (b *Buffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
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

// Audit are the audit-trail lines (message "audit") of one action.
func (b *Buffer) Audit(t testing.TB, action string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range b.Messages(t, "audit") {
		if m["action"] == action {
			out = append(out, m)
		}
	}
	return out
}
