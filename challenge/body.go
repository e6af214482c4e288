package challenge

import (
	"crypto/subtle"
	"errors"
	"io"
	"math"
	"strings"
)

var errBodyTooLarge = errors.New("body too large")

// readBody reads all of r if it holds at most max bytes. A longer body is
// errBodyTooLarge rather than truncated, so a page that merely starts with
// the token never passes.
func readBody(r io.Reader, max int64) ([]byte, error) {
	limit := max
	if limit < math.MaxInt64 {
		limit++ // one byte more tells "exactly max" from "too long"
	}
	body, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > max {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// matches compares in constant time so that an attacker timing the check
// cannot learn the token byte by byte.
func matches(body []byte, want string) bool {
	got := strings.TrimSpace(string(body))
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
