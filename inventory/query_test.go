package inventory_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"certmaker/inventory"
)

func TestParseWindow(t *testing.T) {
	good := map[string]time.Duration{
		"": 0, "14d": 14 * 24 * time.Hour, "14": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"36h": 36 * time.Hour, "90m": 90 * time.Minute,
	}
	for in, want := range good {
		if got, err := inventory.ParseWindow(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"d", "-3d", "0d", "soon", "3y", "1e9d", "99999999d", "-1h", "0h"} {
		if _, err := inventory.ParseWindow(bad); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

func TestQueryURLRoundTrip(t *testing.T) {
	q := inventory.Query{Owner: "alice", Revoked: true, Expiring: 14 * 24 * time.Hour, Name: ".home.lan", Limit: 20, Cursor: "00ff"}
	got, err := inventory.QueryFromURL(q.URLValues())
	if err != nil || got != q {
		t.Errorf("round trip: %+v %v, want %+v", got, err, q)
	}
	for _, bad := range []string{"revoked=maybe", "limit=0", "limit=501", "expiring=x", "name=a%00b", "name=" + strings.Repeat("a", 300), "name=a..b", "name=.", "name=a%20b"} {
		v, _ := url.ParseQuery(bad)
		if _, err := inventory.QueryFromURL(v); !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("%s accepted: %v", bad, err)
		}
	}
}

// Names are searched as written on certificates: lower case, any trailing
// dot dropped; a leading dot asks for everything under the name too.
func TestNameQuery(t *testing.T) {
	for in, want := range map[string][2]string{
		"Home.LAN":     {"home.lan", ""},
		".home.lan":    {"home.lan", "suffix"},
		"*.home.lan":   {"*.home.lan", ""},
		"db.home.lan.": {"db.home.lan", ""},
		"10.0.0.7":     {"10.0.0.7", ""},
		"2001:db8::1":  {"2001:db8::1", ""},
	} {
		name, suffix, err := inventory.NameQuery(in)
		got := [2]string{name, map[bool]string{true: "suffix"}[suffix]}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
}
