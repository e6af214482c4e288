package ca

import (
	"fmt"
	"strings"
)

// Revocation reasons (RFC 5280 5.3.1) that a subscriber certificate may be
// revoked for. certificateHold is left out on purpose: certmaker never
// un-revokes, and the CA/Browser Forum forbids holds.
var reasons = []struct {
	name string
	code int
}{
	{"unspecified", 0},
	{"keyCompromise", 1},
	{"affiliationChanged", 3},
	{"superseded", 4},
	{"cessationOfOperation", 5},
	{"privilegeWithdrawn", 9},
}

// reasonCACompromise is what an answer about a certificate gives when the
// CA that issued it lost its key (RFC 5280 5.3.1); no one revokes a leaf
// for it by hand.
const reasonCACompromise = 2

// IssuerRevokedReason is the reason an OCSP answer gives for a certificate
// whose issuer was revoked for reason: cACompromise when the issuer's key
// was compromised, else the issuer's own reason (superseded,
// cessationOfOperation...).
func IssuerRevokedReason(reason int) int {
	if reason == 1 { // keyCompromise
		return reasonCACompromise
	}
	return reason
}

// ParseReason turns an RFC 5280 reason name into its code; "" is
// unspecified. Names are matched without regard to case.
func ParseReason(name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	for _, r := range reasons {
		if strings.EqualFold(r.name, name) {
			return r.code, nil
		}
	}
	names := make([]string, len(reasons))
	for i, r := range reasons {
		names[i] = r.name
	}
	return 0, Invalidf("revocation reason %.40q (want one of %s)", name, strings.Join(names, ", "))
}

// ReasonName is the RFC 5280 name of a reason code.
func ReasonName(code int) string {
	for _, r := range reasons {
		if r.code == code {
			return r.name
		}
	}
	if code == reasonCACompromise {
		return "cACompromise"
	}
	return fmt.Sprintf("reason(%d)", code)
}
