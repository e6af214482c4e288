package challenge

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"golang.org/x/net/dns/dnsmessage"
)

// DNSPrefix is the label a DNS proof is published under (RFC 8555 8.4).
const DNSPrefix = "_acme-challenge."

// DNSName is where the DNS proof of name is published: DNSPrefix and the
// name, lower-cased; for a wildcard "*.lab.home.lan" its base name's,
// "_acme-challenge.lab.home.lan" (RFC 8555 8.4, 7.1.3).
func DNSName(name string) string {
	return DNSPrefix + strings.TrimPrefix(normalizeName(name), "*.")
}

// checkDNS looks up the TXT records at the target's DNSName (following
// aliases) and passes if one of them is exactly Want. Neither the records
// nor the names an alias led to are ever repeated in a reason.
func (c *Checker) checkDNS(ctx context.Context, t Target) *Error {
	fail := failer(t.Identifier)
	at := DNSName(t.Identifier)
	rrs, err := c.dns.records(ctx, at, dnsmessage.TypeTXT)
	if err != nil {
		return fail(c.dnsReason(ctx, at, err), err)
	}
	// Every record is compared, in constant time, whatever matched
	// before: how long a check takes says nothing about which one did.
	match := 0
	for _, rr := range rrs {
		if txt, ok := rr.Body.(*dnsmessage.TXTResource); ok {
			// One record may be split into strings of at most 255
			// bytes; its value is their concatenation.
			match |= subtle.ConstantTimeCompare([]byte(strings.Join(txt.TXT, "")), []byte(t.Want))
		}
	}
	switch {
	case match == 1:
		return nil
	case len(rrs) == 1:
		return fail(reason{CodeWrongToken, "wrong TXT value at " + at}, nil)
	}
	return fail(reason{CodeWrongToken, fmt.Sprintf("none of the %d TXT values at %s is the expected one", len(rrs), at)}, nil)
}

// dnsReason turns a failed TXT lookup of at into a fixed reason. at is
// the CA's own name for the record, never a name an answer led to.
func (c *Checker) dnsReason(ctx context.Context, at string, err error) reason {
	if r := c.stopped(ctx); r.text != "" {
		return r
	}
	var netErr net.Error
	switch {
	case errors.Is(err, errNoName):
		return reason{CodeNoRecord, "no TXT record at " + at + ": the name does not exist"}
	case errors.Is(err, errNoData):
		return reason{CodeNoRecord, "no TXT record at " + at}
	case errors.Is(err, errCNAMELoop):
		return reason{CodeDNSServer, "the aliases (CNAME) of " + at + " form a loop"}
	case errors.Is(err, errCNAMEChain):
		return reason{CodeDNSServer, fmt.Sprintf("more than %d aliases (CNAME) from %s", maxCNAMEs, at)}
	case errors.Is(err, errServerRCode):
		return reason{CodeDNSServer, err.Error()} // our words: rcodeError
	case errors.Is(err, errBadAnswer):
		return reason{CodeDNSServer, "malformed DNS answer"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return reason{CodeDNSServer, "the DNS server refused the connection"}
	case errors.As(err, &netErr) && netErr.Timeout():
		return reason{CodeDNSServer, "the DNS server did not answer"}
	}
	return reason{CodeDNSServer, "DNS lookup failed"}
}
