package core

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// TestNewSecret_NoLeadingDash: a value that begins with '-' is read as an
// option by certbot's argument parser (`--eab-hmac-key -x...` fails with
// "expected one argument"); about one in 32 random values would. 5000 of
// each kind make a miss vanishingly unlikely if the rule were not kept.
func TestNewSecret_NoLeadingDash(t *testing.T) {
	for _, n := range []int{12, 32} { // EAB key id; EAB HMAC key and API token
		for range 5000 {
			raw, text, err := newSecret(n)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(text, "-") {
				t.Fatalf("newSecret(%d) = %q begins with '-'", n, text)
			}
			// The text is the raw bytes, not a mangled form of them.
			got, err := base64.RawURLEncoding.DecodeString(text)
			if err != nil || !bytes.Equal(got, raw) || len(raw) != n {
				t.Fatalf("newSecret(%d): %q does not decode to its %d bytes: %v", n, text, len(raw), err)
			}
		}
	}
	for range 5000 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(tok, "-") || len(tok) != 43 {
			t.Fatalf("NewToken() = %q", tok)
		}
	}
}
