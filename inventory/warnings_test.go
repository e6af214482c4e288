package inventory_test

import (
	"slices"
	"testing"
	"time"

	"certmaker/inventory"
)

// TestWarnings is the one rule the server's log, `certmaker status` and
// the dashboard share for what about the CA ends soon.
func TestWarnings(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	root := func(left time.Duration, online bool, crl time.Time) inventory.Root {
		return inventory.Root{Fingerprint: "R", Active: true, NotAfter: now.Add(left), KeyOnline: online, CRLNextUpdate: crl}
	}
	inter := func(left time.Duration) []inventory.Root {
		return []inventory.Root{{Fingerprint: "I", Active: true, NotAfter: now.Add(left), Parent: "R"}}
	}
	fresh := now.Add(90 * day)
	for _, tc := range []struct {
		name     string
		sum      inventory.Summary
		warnDays int
		want     []inventory.WarningKind
	}{
		{"Quiet", inventory.Summary{Roots: []inventory.Root{root(3000*day, true, time.Time{})}, Intermediates: inter(900 * day)}, 365, nil},
		{"RootEnds", inventory.Summary{Roots: []inventory.Root{root(100*day, true, time.Time{})}, Intermediates: inter(90 * day)}, 365, []inventory.WarningKind{inventory.RootExpires, inventory.IntermediateExpires}},
		// An intermediate that ends with its root: the root's warning says it.
		{"EndsWithRoot", inventory.Summary{Roots: []inventory.Root{root(100*day, true, time.Time{})}, Intermediates: inter(100 * day)}, 365, []inventory.WarningKind{inventory.RootExpires}},
		{"IntermediateEnds", inventory.Summary{Roots: []inventory.Root{root(3000*day, true, time.Time{})}, Intermediates: inter(30 * day)}, 365, []inventory.WarningKind{inventory.IntermediateExpires}},
		{"NeverWarnDays", inventory.Summary{Roots: []inventory.Root{root(10*day, true, time.Time{})}, Intermediates: inter(5 * day)}, 0, nil},
		{"OfflineNoCRL", inventory.Summary{Roots: []inventory.Root{root(3000*day, false, time.Time{})}}, 365, []inventory.WarningKind{inventory.RootCRLMissing}},
		{"OfflineFreshCRL", inventory.Summary{Roots: []inventory.Root{root(3000*day, false, fresh)}}, 365, nil},
		{"OfflineCRLEnds", inventory.Summary{Roots: []inventory.Root{root(3000*day, false, now.Add(10*day))}}, 365, []inventory.WarningKind{inventory.RootCRLExpires}},
		{"OfflineCRLEnded", inventory.Summary{Roots: []inventory.Root{root(3000*day, false, now.Add(-day))}}, 365, []inventory.WarningKind{inventory.RootCRLExpires}},
		{"OnlineCRLEnds", inventory.Summary{Roots: []inventory.Root{root(3000*day, true, now.Add(day))}}, 365, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []inventory.WarningKind
			ws := inventory.Warnings(tc.sum, now, tc.warnDays)
			for _, w := range ws {
				got = append(got, w.Kind)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("warnings %v, want %v", got, tc.want)
			}
			for _, w := range ws {
				if w.Kind == inventory.RootCRLExpires && w.Ended != (tc.name == "OfflineCRLEnded") {
					t.Errorf("%s: ended %v", tc.name, w.Ended)
				}
			}
		})
	}
}
