package web

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"certmaker/ca"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		name, names string
		dns         []string
		ips         []string
		emails      []string
		err         string
	}{
		{name: "Lines", names: "nas.home.lan\r\n192.168.1.20\n\n", dns: []string{"nas.home.lan"}, ips: []string{"192.168.1.20"}},
		{name: "Commas", names: "A.home.lan, b.home.lan,fd00::1 , [fd00::2]", dns: []string{"a.home.lan", "b.home.lan"}, ips: []string{"fd00::1", "fd00::2"}},
		// A space is not a separator: "bad name!" is one bad name, and
		// "bad" is not quietly accepted.
		{name: "Space", names: "bad name!", err: `"bad name!" has a space in it`},
		{name: "Email", names: "ops@home.lan", emails: []string{"ops@home.lan"}},
		{name: "Wildcard", names: "*.home.lan", dns: []string{"*.home.lan"}},
		{name: "Empty", names: " , \n", err: "at least one name"},
		{name: "BadName", names: "bad_name!", err: "bad_name!"},
		{name: "Zone", names: "fe80::1%eth0", err: "fe80::1%eth0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _, fe := parseRequest(tc.names, "", "")
			msg := words(fe)
			if tc.err != "" {
				if !strings.Contains(msg, tc.err) {
					t.Fatalf("message %q, want one naming %q", msg, tc.err)
				}
				return
			}
			if msg != "" {
				t.Fatal(msg)
			}
			var ips []string
			for _, a := range req.IPs {
				ips = append(ips, a.String())
			}
			if !slices.Equal(req.DNSNames, tc.dns) || !slices.Equal(ips, tc.ips) || !slices.Equal(req.Emails, tc.emails) {
				t.Errorf("got %v %v %v", req.DNSNames, ips, req.Emails)
			}
		})
	}
	if _, _, fe := parseRequest("a.lan", "soon", ""); fe == nil || fe.field != "days" {
		t.Errorf("days \"soon\": %+v", fe)
	}
	if _, _, fe := parseRequest("a.lan", "", "dsa-1024"); fe == nil || fe.field != "key_type" {
		t.Errorf("key type dsa-1024: %+v", fe)
	}
	req, kt, fe := parseRequest("a.lan", "30", "")
	if fe != nil || req.Days != 30 || kt != ca.DefaultKeyType {
		t.Errorf("days and default key type: %v %v %+v", req.Days, kt, fe)
	}
}

// words is a form error as one line: its sentence and each bad name.
func words(fe *formError) string {
	if fe == nil {
		return ""
	}
	s := fe.msg
	for _, b := range fe.names {
		s += fmt.Sprintf(" %q %s;", b.Name, b.Problem)
	}
	return s
}

// TestParseRequest_EveryBadName proves one answer names every bad name, in
// the order typed, each with its reason in plain words (not the API's).
func TestParseRequest_EveryBadName(t *testing.T) {
	_, _, fe := parseRequest("good.lan\nname!\n-bad.lan, a..b.lan\nfe80::1%eth0\nx@\nok.lan", "", "")
	if fe == nil || fe.field != "names" {
		t.Fatalf("four bad names accepted: %+v", fe)
	}
	want := []string{"name!", "-bad.lan", "a..b.lan", "fe80::1%eth0", "x@"}
	var got []string
	for _, b := range fe.names {
		got = append(got, b.Name)
		if strings.Contains(b.Problem, "invalid request") || b.Problem == "" {
			t.Errorf("%q: %q reads like the API", b.Name, b.Problem)
		}
	}
	if !slices.Equal(got, want) || !strings.Contains(fe.msg, "5 names") {
		t.Fatalf("bad names %q (%s), want %q", got, fe.msg, want)
	}
	if p := fe.names[0].Problem; !strings.Contains(p, `'!'`) {
		t.Errorf("name! %s: want the character named", p)
	}
}
