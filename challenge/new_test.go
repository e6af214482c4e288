package challenge_test

import (
	"net/netip"
	"testing"
	"time"

	"certmaker/challenge"
)

func TestNew_Invalid(t *testing.T) {
	tests := []struct {
		name    string
		cfg     challenge.Config
		wantErr string
	}{
		{"NegativeTimeout", challenge.Config{Timeout: -time.Second}, "timeout -1s is negative"},
		{"NegativeConcurrency", challenge.Config{Concurrency: -1}, "concurrency -1 is negative"},
		{"NegativeMaxBody", challenge.Config{MaxBody: -1}, "max body -1 is negative"},
		{"NegativeMaxInFlight", challenge.Config{MaxInFlight: -1}, "max in flight -1 is negative"},
		{"NegativeMaxPerRequester", challenge.Config{MaxPerRequester: -1}, "max per requester -1 is negative"},
		{"MaxPerRequesterAboveTotal", challenge.Config{MaxInFlight: 4, MaxPerRequester: 5}, "max per requester 5 is more than max in flight 4"},
		{"AllowedPortZero", challenge.Config{AllowedPorts: []int{80, 0}}, "allowed port 0 is outside 1..65535"},
		{"AllowedPortTooLarge", challenge.Config{AllowedPorts: []int{65536}}, "allowed port 65536 is outside 1..65535"},
		{"InvalidPrefix", challenge.Config{DeniedNetworks: []netip.Prefix{{}}}, `denied network "invalid Prefix" is invalid`},
		{"DuplicateHost", challenge.Config{Hosts: map[string][]netip.Addr{"a.test": {ip2}, "A.TEST.": {ip3}}}, `hosts: "a.test" is listed twice`},
		{"EmptyHost", challenge.Config{Hosts: map[string][]netip.Addr{".": {ip2}}}, "hosts: empty name"},
		{"InvalidHostAddress", challenge.Config{Hosts: map[string][]netip.Addr{"a.test": {{}}}}, `hosts: "a.test" has an invalid address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := challenge.New(tt.cfg)
			if err == nil {
				t.Fatalf("New = %v, nil; want error %q", c, tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("New: %q, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestNew_CopiesConfig: changing the caller's map after New must not
// redirect a check.
func TestNew_CopiesConfig(t *testing.T) {
	p := serve(t, "127.0.0.2:0", serveFile(challenge.WellKnownPath, tok))
	hosts := map[string][]netip.Addr{"a.test": {ip2}}
	c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: hosts})
	hosts["a.test"][0] = ip3
	delete(hosts, "a.test")
	if err := c.CheckOne(t.Context(), requester, target("a.test", p)); err != nil {
		t.Fatalf("CheckOne after changing Config.Hosts: %v", err)
	}
}
