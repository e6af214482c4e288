package ca_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"certmaker/ca"
)

func TestAuthority_Roots(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		if roots := mustAuthority(t, testNow, nil).Roots(); len(roots) != 0 {
			t.Errorf("Roots() = %v, want none", roots)
		}
	})

	t.Run("OldestFirst", func(t *testing.T) {
		older := mustRoot(t, ca.KeyECDSAP256, testNow.Add(-48*time.Hour))
		old := mustRoot(t, ca.KeyECDSAP256, testNow.Add(-24*time.Hour))
		newest := mustRoot(t, ca.KeyECDSAP256, testNow)
		a := mustAuthority(t, testNow, newest)
		a.Add(older, false)
		a.Add(old, false)
		if got, want := a.Roots(), []*ca.Issuer{older, old, newest}; !slices.Equal(got, want) {
			t.Errorf("Roots() = %v, want %v", got, want)
		}
		// Making a known root active again does not list it twice.
		a.Add(older, true)
		if got := a.Roots(); len(got) != 3 || a.Active() != older {
			t.Errorf("after re-adding a root: %d roots, active %v; want 3 and the re-added one", len(got), a.Active())
		}
	})

	t.Run("TiesByFingerprint", func(t *testing.T) {
		x, y := mustRoot(t, ca.KeyECDSAP256, testNow), mustRoot(t, ca.KeyECDSAP256, testNow)
		want := []*ca.Issuer{x, y}
		if x.Fingerprint > y.Fingerprint {
			want = []*ca.Issuer{y, x}
		}
		for _, order := range [][]*ca.Issuer{{x, y}, {y, x}} {
			a := mustAuthority(t, testNow, nil)
			for _, r := range order {
				a.Add(r, true)
			}
			if got := a.Roots(); !slices.Equal(got, want) {
				t.Errorf("added %v: Roots() = %v, want %v", order, got, want)
			}
		}
	})

	// Roots hands out one shared slice: adding a root must make a new one
	// and leave what earlier callers hold as it was.
	t.Run("AddRootLeavesEarlierSlices", func(t *testing.T) {
		first := mustRoot(t, ca.KeyECDSAP256, testNow.Add(-time.Hour))
		a := mustAuthority(t, testNow, first)
		before := a.Roots()
		second := mustRoot(t, ca.KeyECDSAP256, testNow)
		a.Add(second, true)
		if len(before) != 1 || before[0] != first {
			t.Errorf("slice from before AddRoot now holds %v", before)
		}
		after := a.Roots()
		if len(after) != 2 || after[1] != second {
			t.Errorf("Roots() after AddRoot = %v, want [first second]", after)
		}
		// An append by a caller copies instead of writing into the shared array.
		_ = append(after, first)
		if again := a.Roots(); len(again) != 2 || again[1] != second {
			t.Errorf("a caller's append changed Roots() to %v", again)
		}
	})

	// Readers on every request, a rotation meanwhile: run with -race.
	t.Run("Concurrent", func(t *testing.T) {
		a := mustAuthority(t, testNow, mustRoot(t, ca.KeyECDSAP256, testNow))
		more := []*ca.Issuer{
			mustRoot(t, ca.KeyECDSAP256, testNow.Add(time.Hour)),
			mustRoot(t, ca.KeyECDSAP256, testNow.Add(2*time.Hour)),
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 1000 {
					roots := a.Roots()
					for i := 1; i < len(roots); i++ {
						if roots[i].Cert.NotBefore.Before(roots[i-1].Cert.NotBefore) {
							t.Error("Roots() out of order")
							return
						}
					}
				}
			})
		}
		for _, r := range more {
			a.Add(r, true)
		}
		wg.Wait()
		if n := len(a.Roots()); n != 3 {
			t.Errorf("%d roots, want 3", n)
		}
	})
}
