package acme

import "testing"

// TestAccepts: RFC 9110 12.5.1: the most specific media range that
// matches decides, so a type refused by name (q=0) stays refused whatever
// a wildcard beside it allows, and one allowed by name beats a refusing
// wildcard.
func TestAccepts(t *testing.T) {
	const chain = "application/pem-certificate-chain"
	for _, tc := range []struct {
		accept []string
		want   bool
	}{
		{nil, true},
		{[]string{""}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/*"}, true},
		{[]string{chain}, true},
		{[]string{"APPLICATION/PEM-Certificate-Chain"}, true},
		{[]string{"application/pkix-cert"}, false},
		{[]string{"text/*, image/png"}, false},
		{[]string{"application/pkix-cert", chain + ";q=0.5"}, true},
		{[]string{chain + ";q=0"}, false},
		{[]string{chain + ";q=0, */*"}, false},
		{[]string{"*/*, " + chain + ";q=0"}, false},
		{[]string{"application/*;q=0, */*"}, false},
		{[]string{"application/*;q=0, " + chain}, true},
		{[]string{"*/*;q=0, application/*;q=0.1"}, true},
		{[]string{"*/*;q=0"}, false},
		{[]string{"application/*;q=0.0", "*/*;q=1"}, false},
		{[]string{"not a media type"}, true},
	} {
		if got := accepts(tc.accept, chain); got != tc.want {
			t.Errorf("accepts(%q) = %v, want %v", tc.accept, got, tc.want)
		}
	}
}
