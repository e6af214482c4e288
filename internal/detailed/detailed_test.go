package detailed_test

import (
	"errors"
	"fmt"
	"testing"

	"certmaker/internal/detailed"
)

func TestErrorf(t *testing.T) {
	errBad := errors.New("invalid request")
	err := fmt.Errorf("context: %w", detailed.Errorf(errBad, "domain %q is empty", ""))
	if !errors.Is(err, errBad) || errors.Is(err, errors.New("invalid request")) {
		t.Errorf("errors.Is: %v", err)
	}
	if got := err.Error(); got != `context: invalid request: domain "" is empty` {
		t.Errorf("message %q", got)
	}
	var d interface{ Detail() string }
	if !errors.As(err, &d) || d.Detail() != `domain "" is empty` {
		t.Errorf("detail of %v", err)
	}
}
