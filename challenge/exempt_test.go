package challenge_test

import (
	"testing"

	"certmaker/challenge"
)

func TestExempt(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST", true},
		{"localhost.", true},
		{"LocalHost.", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"0:0:0:0:0:0:0:1", true},
		{"0000:0000:0000:0000:0000:0000:0000:0001", true},
		{"::ffff:127.0.0.1", true},
		{"127.0.0.2", false},
		{"::2", false},
		{"::1%lo", false},
		{"[::1]", false},
		{"localhost..", false},
		{"a.localhost", false},
		{"localhost.localdomain", false},
		{"nas.home.lan", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := challenge.Exempt(tt.id); got != tt.want {
			t.Errorf("Exempt(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
