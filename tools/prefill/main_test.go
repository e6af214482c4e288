package main

import (
	"slices"
	"testing"
	"time"
)

// Issue times spread evenly over the span, in order, for a million
// certificates too (span*i once overflowed int64 from i = 587 on).
func TestIssueTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const span = 2 * 365 * 24 * time.Hour
	for _, n := range []int64{1000, 1_000_000, 10_000_000} {
		prev := now.Add(-span - time.Nanosecond)
		is := []int64{0, 1, 586, 587, 588, n / 4, n / 2, n - 1}
		slices.Sort(is)
		for _, i := range is {
			got := issueTime(now, span, i, n)
			want := now.Add(-span + time.Duration(float64(span)*float64(i)/float64(n)))
			if d := got.Sub(want); d < -time.Second || d > time.Second {
				t.Errorf("n=%d i=%d: %s, want about %s", n, i, got, want)
			}
			if !got.After(prev) && i > 0 {
				t.Errorf("n=%d i=%d: %s is not after the one before (%s)", n, i, got, prev)
			}
			prev = got
		}
	}
}
