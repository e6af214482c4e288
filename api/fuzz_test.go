package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"certmaker/ca"
)

// FuzzDecodeSimple feeds the simple-request decoder and validator anything:
// it must not panic, a success must be a normalized request the authority
// can sign as is, and a failure must be the client's fault (a 4xx).
func FuzzDecodeSimple(f *testing.F) {
	for _, seed := range []string{
		`{"domains":["nas.home.lan"],"ips":["192.168.1.20"],"days":30,"key_type":"ecdsa-p256"}`,
		`{"domains":["NAS.Home.Lan.","nas.home.lan"],"subject":{"common_name":"nas.home.lan","country":"de"}}`,
		`{"ips":["::ffff:10.0.0.1","fe80::1%eth0"]}`,
		`{"email_addresses":["a@b.lan","Alice <a@b.lan>"]}`,
		`{"domains":["*.home.lan"],"key_type":"ed25519","days":-1}`,
		`{"domains":["a.lan"],"days":1e309}`,
		`{"domains":["a.lan"],"days":9223372036854775807}`,
		`{"domains":["a.lan"]}}`,
		`{"domains":["a.lan"]} {}`,
		`{"domains":null,"subject":null,"days":null}`,
		`{"subject":{"common_name":"10.0.0.1"}}`,
		`{"subject":{"common_name":"` + strings.Repeat("a", 65) + `"},"domains":["a.lan"]}`,
		`{"domains":["` + strings.Repeat("a", 64) + `.lan"]}`,
		`{"domains":["a\u0000b.lan","bücher.lan","a%2eb.lan","*","*.*.x"]}`,
		`{"domains":["\u212aelvin.lan"]}`,
		`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`,
		`"just a string"`,
		``,
		`{"domains":["a.lan"],"subject":{"organization":"A\u0000B","country":"DEU"}}`,
		`{"DOMAINS":["a.lan"],"Key_Type":"rsa-2048"}`,
		"{\"domains\":[\"a.lan\"],\"subject\":{\"locality\":\"\xff\xfe\"}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sr, req, kt, err := decodeSimple(body)
		if err != nil {
			if st := StatusOf(err); st < 400 || st > 499 {
				t.Fatalf("decodeSimple(%q): %v maps to %d, want a 4xx", body, err, st)
			}
			if sr != nil || req != nil || kt != "" {
				t.Fatalf("decodeSimple(%q) failed with %v but returned a request", body, err)
			}
			return
		}
		if sr == nil || req == nil {
			t.Fatalf("decodeSimple(%q): nil request without error", body)
		}
		if !slices.Contains(ca.KeyTypes(), kt) {
			t.Fatalf("decodeSimple(%q): key type %q", body, kt)
		}
		n := len(req.DNSNames) + len(req.IPs) + len(req.Emails)
		if n < 1 || n > ca.MaxNames {
			t.Fatalf("decodeSimple(%q): %d names", body, n)
		}
		// Normalized: normalizing again changes nothing and cannot fail.
		again := *req
		again.DNSNames = slices.Clone(req.DNSNames)
		again.IPs = slices.Clone(req.IPs)
		again.Emails = slices.Clone(req.Emails)
		if err := again.Normalize(); err != nil {
			t.Fatalf("decodeSimple(%q): the result does not normalize again: %v", body, err)
		}
		if !slices.Equal(again.DNSNames, req.DNSNames) || !slices.Equal(again.IPs, req.IPs) ||
			!slices.Equal(again.Emails, req.Emails) || again.Subject != req.Subject {
			t.Fatalf("decodeSimple(%q): not normalized: %+v, again %+v", body, req, again)
		}
		for _, d := range req.DNSNames {
			if got, err := ca.NormalizeDNSName(d); err != nil || got != d {
				t.Fatalf("decodeSimple(%q): DNS name %q is not normalized (%q, %v)", body, d, got, err)
			}
		}
		for _, a := range req.IPs {
			if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
				t.Fatalf("decodeSimple(%q): IP %v", body, a)
			}
		}
		if req.Subject.CommonName == "" && len(req.DNSNames)+len(req.IPs) > 0 {
			// Only a name too long for a CN may leave it empty.
			for _, d := range req.DNSNames {
				if len(d) <= 64 {
					t.Fatalf("decodeSimple(%q): no common name although %q fits", body, d)
				}
			}
		}
		// A pending challenge stores the request as JSON and decodes it when
		// solved: that must give back the very request that was checked.
		stored, err := json.Marshal(simpleFrom(req, kt))
		if err != nil {
			t.Fatalf("decodeSimple(%q): storing: %v", body, err)
		}
		var back simpleRequest
		if err := json.Unmarshal(stored, &back); err != nil {
			t.Fatalf("decodeSimple(%q): stored form %s does not decode: %v", body, stored, err)
		}
		req2, kt2, err := back.toRequest()
		if err != nil || kt2 != kt || !slices.Equal(req2.Names(), req.Names()) || !slices.Equal(req2.Emails, req.Emails) || req2.Subject != req.Subject {
			t.Fatalf("decodeSimple(%q): stored form %s gives %+v, %v; want %+v", body, stored, req2, err, req)
		}
	})
}
