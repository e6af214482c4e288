package web

import (
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
		{name: "Email", names: "ops@home.lan", emails: []string{"ops@home.lan"}},
		{name: "Wildcard", names: "*.home.lan", dns: []string{"*.home.lan"}},
		{name: "Empty", names: " , \n", err: "at least one name"},
		{name: "BadName", names: "bad_name!", err: "bad_name!"},
		{name: "Zone", names: "fe80::1%eth0", err: "fe80::1%eth0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _, msg := parseRequest(tc.names, "", "")
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
	if _, _, msg := parseRequest("a.lan", "soon", ""); msg == "" {
		t.Error("days \"soon\" accepted")
	}
	if _, _, msg := parseRequest("a.lan", "", "dsa-1024"); msg == "" {
		t.Error("key type dsa-1024 accepted")
	}
	req, kt, msg := parseRequest("a.lan", "30", "")
	if msg != "" || req.Days != 30 || kt != ca.DefaultKeyType {
		t.Errorf("days and default key type: %v %v %q", req.Days, kt, msg)
	}
}
