package client

import "testing"

// TestWindow_String: a window is reported as the operator wrote it, not
// as Go's duration syntax ("31d" is 31 days, not 744h0m0s).
func TestWindow_String(t *testing.T) {
	for in, want := range map[string]string{
		"31d":  "31 days",
		"1d":   "1 day",
		"48h":  "2 days",
		"36h":  "36h",
		"90m":  "1h30m",
		"1/3":  "1/3 of the lifetime",
		"2/5":  "2/5 of the lifetime",
		"45s":  "45s",
		" 7d ": "7 days",
	} {
		w, err := ParseWindow(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := w.String(); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
