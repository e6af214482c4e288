package challenge_test

import (
	"encoding/base64"
	"testing"

	"certmaker/challenge"
)

func TestToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tk, err := challenge.Token()
		if err != nil {
			t.Fatal(err)
		}
		if len(tk) != 43 {
			t.Fatalf("token %q has %d characters, want 43", tk, len(tk))
		}
		raw, err := base64.RawURLEncoding.DecodeString(tk)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token %q: %d bytes, %v; want 32 bytes of base64url", tk, len(raw), err)
		}
		if seen[tk] {
			t.Fatalf("token %q returned twice", tk)
		}
		seen[tk] = true
	}
}
