package web

import (
	"testing"
	"time"

	"certmaker/inventory"
)

func TestDescribe(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	revokedAt := now.Add(-day)
	for _, tc := range []struct {
		name          string
		cert          inventory.Certificate
		state, expiry string
	}{
		{"Fresh", inventory.Certificate{Status: "valid", NotBefore: now.Add(-day), NotAfter: now.Add(29*day + time.Hour)}, "valid", "expires in 29 days"},
		{"LastThird", inventory.Certificate{Status: "valid", NotBefore: now.Add(-25 * day), NotAfter: now.Add(5 * day)}, "soon", "expires in 5 days"},
		{"OneDay", inventory.Certificate{Status: "valid", NotBefore: now.Add(-6 * day), NotAfter: now.Add(day + time.Hour)}, "soon", "expires in 1 day"},
		{"Hours", inventory.Certificate{Status: "valid", NotBefore: now.Add(-6 * day), NotAfter: now.Add(5 * time.Hour)}, "soon", "expires in 5 hours"},
		{"Minutes", inventory.Certificate{Status: "valid", NotBefore: now.Add(-6 * day), NotAfter: now.Add(30 * time.Minute)}, "soon", "expires within 2 hours"},
		{"ExpiredToday", inventory.Certificate{Status: "expired", NotBefore: now.Add(-7 * day), NotAfter: now.Add(-time.Hour)}, "expired", "expired today"},
		{"ExpiredLongAgo", inventory.Certificate{Status: "expired", NotBefore: now.Add(-40 * day), NotAfter: now.Add(-10 * day)}, "expired", "expired 10 days ago"},
		{"Revoked", inventory.Certificate{Status: "revoked", NotAfter: now.Add(day), RevokedAt: &revokedAt}, "revoked", "revoked 2026-02-28"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := describe(tc.cert, now)
			if v.State != tc.state || v.Expiry != tc.expiry || v.Label == "" {
				t.Errorf("got %s %q %q, want %s %q", v.State, v.Label, v.Expiry, tc.state, tc.expiry)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 certificates", 1: "1 certificate", 2: "2 certificates"} {
		if got := plural(n, "certificate"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
	if got := string(breakable("a<b>.home.lan")); got != "a&lt;b&gt;.<wbr>home.<wbr>lan" {
		t.Errorf("breakable = %q", got)
	}
}
