package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is how long before its end a certificate is renewed: a fraction
// of its lifetime ("1/3", the default ACME clients use) or a fixed
// duration ("240h", "10d").
type Window struct {
	fraction float64
	frac     string // as written: "1/3"
	duration time.Duration
}

// ParseWindow reads "N/M", a Go duration, or a number of days ("10d").
func ParseWindow(s string) (Window, error) {
	s = strings.TrimSpace(s)
	if num, den, ok := strings.Cut(s, "/"); ok {
		n, err1 := strconv.Atoi(num)
		d, err2 := strconv.Atoi(den)
		if err1 != nil || err2 != nil || n <= 0 || d <= 0 || n >= d {
			return Window{}, fmt.Errorf("renew-before %q: a fraction must be like 1/3 (between 0 and 1)", s)
		}
		return Window{fraction: float64(n) / float64(d), frac: strconv.Itoa(n) + "/" + strconv.Itoa(d)}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return Window{}, fmt.Errorf("renew-before %q: days must be a positive whole number like 10d", s)
		}
		return Window{duration: time.Duration(n) * 24 * time.Hour}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Window{}, fmt.Errorf("renew-before %q: want a fraction (1/3), days (10d) or a duration (36h)", s)
	}
	return Window{duration: d}, nil
}

// RenewAt is when a certificate valid from notBefore to notAfter is due.
func (w Window) RenewAt(notBefore, notAfter time.Time) time.Time {
	if w.duration > 0 {
		return notAfter.Add(-w.duration)
	}
	f := w.fraction
	if f == 0 {
		f = 1.0 / 3
	}
	life := notAfter.Sub(notBefore)
	return notAfter.Add(-time.Duration(float64(life) * f))
}

// String says the window as an operator would: "31 days", "36h", "1/3
// of the lifetime".
func (w Window) String() string {
	const day = 24 * time.Hour
	switch {
	case w.duration > 0 && w.duration%day == 0:
		if n := w.duration / day; n != 1 {
			return strconv.Itoa(int(n)) + " days"
		}
		return "1 day"
	case w.duration > 0:
		s := w.duration.String() // "36h0m0s": drop the zero units
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	case w.frac != "":
		return w.frac + " of the lifetime"
	}
	return "1/3 of the lifetime"
}
