// Package detailed makes errors that keep what is wrong apart from the
// sentinel that classifies them: Error reads "invalid request: domain
// \"x\" is empty", errors.Is matches the sentinel, and Detail is "domain
// \"x\" is empty", for a person (core.Detail). ca and core refuse requests
// with it, so no door has to cut a sentinel's words off a message.
package detailed

import "fmt"

type detailedError struct {
	sentinel error
	detail   string
}

func (e *detailedError) Error() string        { return e.sentinel.Error() + ": " + e.detail }
func (e *detailedError) Is(target error) bool { return target == e.sentinel }
func (e *detailedError) Detail() string       { return e.detail }

// Errorf is an error of sentinel whose detail is formatted as fmt.Sprintf.
func Errorf(sentinel error, format string, args ...any) error {
	return &detailedError{sentinel: sentinel, detail: fmt.Sprintf(format, args...)}
}
