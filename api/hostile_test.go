package api_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"
)

// hostile is one malformed or hostile request and the exact answer it gets.
type hostile struct {
	name   string
	method string
	path   string
	user   string // a user of the env or a literal token; "" is alice
	anon   bool   // send no token (beyond those in hdr)
	body   string
	hdr    []string // header name, value pairs; Add, so names may repeat
	// chunked sends the body without a Content-Length.
	chunked bool
	status  int
	// check looks further at the answer, for cases whose status alone
	// says too little (OCSP answers 200 to everything).
	check func(t *testing.T, r response)
}

// TestHostileRequests sends requests no client should send and asserts the
// exact 4xx for each, and after each that the server is healthy and stored
// nothing. A 5xx is always a bug.
func TestHostileRequests(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	goodCSR := csrPEM(t, ec, "", "csr.home.lan")
	b, _ := pem.Decode([]byte(goodCSR))
	b.Bytes[len(b.Bytes)-5] ^= 0x55 // inside the signature
	badSigCSR := string(pem.EncodeToMemory(b))

	deep := `{"domains":["a.lan"],"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`
	name300 := strings.Repeat("abcdefghi.", 29) + "abcdefgh.lan"
	huge := `{"domains":["a.lan"],"pad":"` + strings.Repeat("x", 65<<10) + `"}`
	const req = "/api/certificate/request"
	const csr = "/api/certificate/request-with-csr"

	cases := []hostile{
		// JSON of the wrong shape.
		{name: "EmptyBody", body: "", status: 400},
		{name: "NotJSON", body: "domains=a.lan", status: 400},
		{name: "ByteOrderMark", body: "\ufeff" + `{"domains":["a.lan"]}`, status: 400},
		{name: "TopLevelArray", body: `["a.lan"]`, status: 400},
		{name: "TopLevelNull", body: `null`, status: 400},
		{name: "AllNull", body: `{"domains":null,"ips":null,"email_addresses":null,"subject":null,"days":null,"key_type":null}`, status: 400},
		{name: "NullInDomains", body: `{"domains":[null]}`, status: 400},
		{name: "DomainsString", body: `{"domains":"a.lan"}`, status: 400},
		{name: "DomainsNumbers", body: `{"domains":[1,2]}`, status: 400},
		{name: "IPsObject", body: `{"ips":{"a":"10.0.0.1"}}`, status: 400},
		{name: "EmailsBool", body: `{"email_addresses":true}`, status: 400},
		{name: "SubjectArray", body: `{"domains":["a.lan"],"subject":["CN"]}`, status: 400},
		{name: "CountryNumber", body: `{"domains":["a.lan"],"subject":{"country":49}}`, status: 400},
		{name: "KeyTypeNumber", body: `{"domains":["a.lan"],"key_type":256}`, status: 400},
		{name: "DaysString", body: `{"domains":["a.lan"],"days":"30"}`, status: 400},
		{name: "DaysFloat", body: `{"domains":["a.lan"],"days":1.5}`, status: 400},
		{name: "Days1e309", body: `{"domains":["a.lan"],"days":1e309}`, status: 400},
		{name: "DaysHugeInteger", body: `{"domains":["a.lan"],"days":` + strings.Repeat("9", 400) + `}`, status: 400},
		{name: "DaysBool", body: `{"domains":["a.lan"],"days":true}`, status: 400},
		{name: "DeeplyNested", body: deep, status: 400},
		{name: "Truncated", body: `{"domains":["a.lan"`, status: 400},
		{name: "TrailingBrace", body: `{"domains":["a.lan"]}}`, status: 400},
		{name: "TwoObjects", body: `{"domains":["a.lan"]}{"domains":["b.lan"]}`, status: 400},
		// Duplicate keys: encoding/json would keep the last, in any case.
		{name: "DuplicateKey", body: `{"domains":["a.lan"],"domains":["evil.lan"]}`, status: 400},
		{name: "DuplicateKeyOtherCase", body: `{"domains":["a.lan"],"Domains":["evil.lan"]}`, status: 400},
		{name: "DuplicateKeyFolded", body: `{"domains":["a.lan"],"key_type":"ed25519","\u212aey_type":"rsa-4096"}`, status: 400},
		{name: "DuplicateKeyGoSpelling", body: `{"domains":["a.lan"],"subject":{"street_address":"x","StreetAddress":"y"}}`, status: 400},
		{name: "DuplicateKeyInSubject", body: `{"domains":["a.lan"],"subject":{"organization":"Home","organization":"Bank"}}`, status: 400},
		// Names.
		{name: "Name300Chars", body: `{"domains":["` + name300 + `"]}`, status: 400},
		{name: "Label64Chars", body: `{"domains":["` + strings.Repeat("a", 64) + `.lan"]}`, status: 400},
		{name: "NameWithSpace", body: `{"domains":["a b.lan"]}`, status: 400},
		{name: "NameWithNUL", body: `{"domains":["a\u0000b.lan"]}`, status: 400},
		{name: "NameUnicode", body: `{"domains":["bücher.lan"]}`, status: 400},
		{name: "NameKelvinSign", body: `{"domains":["\u212aelvin.lan"]}`, status: 400},
		{name: "NamePercentEncoded", body: `{"domains":["a%2eb.lan"]}`, status: 400},
		{name: "NameInvalidUTF8", body: "{\"domains\":[\"a\xffb.lan\"]}", status: 400},
		{name: "WildcardOnly", body: `{"domains":["*"]}`, status: 400},
		{name: "DoubleWildcard", body: `{"domains":["*.*.x"]}`, status: 400},
		{name: "EmptyLabel", body: `{"domains":["a..lan"]}`, status: 400},
		{name: "JustADot", body: `{"domains":["."]}`, status: 400},
		{name: "IPAsDomain", body: `{"domains":["10.0.0.1"]}`, status: 400},
		{name: "IPv6Zone", body: `{"ips":["fe80::1%eth0"]}`, status: 400},
		{name: "IPWithPrefix", body: `{"ips":["10.0.0.0/8"]}`, status: 400},
		{name: "IPWithPort", body: `{"ips":["10.0.0.1:80"]}`, status: 400},
		{name: "EmailCRLF", body: `{"email_addresses":["a@b.lan\r\nBcc: c@d.lan"]}`, status: 400},
		{name: "EmailDisplayName", body: `{"email_addresses":["Eve <a@b.lan>"]}`, status: 400},
		{name: "TooManyNames", body: `{"domains":[` + strings.TrimSuffix(strings.Repeat(`"n.lan",`, 5000), ",") + `]}`, status: 400},
		// Subjects.
		{name: "CountryOneLetter", body: `{"domains":["a.lan"],"subject":{"country":"D"}}`, status: 400},
		{name: "CountryThreeLetters", body: `{"domains":["a.lan"],"subject":{"country":"DEU"}}`, status: 400},
		{name: "CountryDigits", body: `{"domains":["a.lan"],"subject":{"country":"49"}}`, status: 400},
		{name: "CommonName65", body: `{"domains":["a.lan"],"subject":{"common_name":"` + strings.Repeat("a", 61) + `.lan"}}`, status: 400},
		{name: "CommonNameZone", body: `{"subject":{"common_name":"fe80::1%eth0"}}`, status: 400},
		{name: "OrganizationRLO", body: `{"domains":["a.lan"],"subject":{"organization":"Bank \u202eemag"}}`, status: 400},
		{name: "OrganizationCRLF", body: `{"domains":["a.lan"],"subject":{"organization":"Evil\r\nCorp"}}`, status: 400},
		{name: "OrganizationTooLong", body: `{"domains":["a.lan"],"subject":{"organization":"` + strings.Repeat("o", 65) + `"}}`, status: 400},
		{name: "KeyTypeUnknown", body: `{"domains":["a.lan"],"key_type":"rsa-1024"}`, status: 400},
		// Sizes.
		{name: "BodyOver64KiB", body: huge, status: 413},
		{name: "ChunkedOver64KiB", body: huge, chunked: true, status: 413},
		{name: "CSROver64KiB", path: csr, body: strings.Repeat("A", 65<<10), chunked: true, status: 413},
		// CSRs.
		{name: "CSRBrokenPEM", path: csr, body: "-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----\n", status: 400},
		{name: "CSRTrailingGarbage", path: csr, body: goodCSR + "garbage", status: 400},
		{name: "CSRTwoBlocks", path: csr, body: goodCSR + goodCSR, status: 400},
		{name: "CSRBadSignature", path: csr, body: badSigCSR, status: 400},
		{name: "CSRRSA1024", path: csr, body: csrPEM(t, weak, "", "weak.home.lan"), status: 400},
		{name: "CSRDaysHuge", path: csr + "?days=99999999999999999999", body: goodCSR, status: 400},
		{name: "CSRDaysFloat", path: csr + "?days=1.5", body: goodCSR, status: 400},
		{name: "CSRJSONBody", path: csr, body: `{"domains":["a.lan"]}`, status: 400},
		// Odd ids and paths.
		{name: "IDNegative", method: "GET", path: "/api/certificate/-1/obtain", status: 400},
		{name: "IDHex", method: "GET", path: "/api/certificate/0x1f/obtain", status: 400},
		{name: "ID60Digits", method: "GET", path: "/api/certificate/" + strings.Repeat("7", 60) + "/obtain", status: 400},
		{name: "IDDotDot", method: "GET", path: "/api/certificate/../obtain", status: 400},
		{name: "IDEscapedSlash", method: "GET", path: "/api/certificate/..%2f/obtain", status: 404},
		{name: "IDNUL", method: "GET", path: "/api/privatekey/%00/obtain", status: 400},
		{name: "IDUnicodeDigits", method: "GET", path: "/api/certificate/%D9%A1%D9%A2/obtain", status: 400},
		{name: "IDUnknown", method: "GET", path: "/api/privatekey/1/obtain", status: 404},
		{name: "DoubleSlash", path: "//api/certificate/request", body: `{"domains":["a.lan"]}`, status: 404},
		{name: "InnerDoubleSlash", path: "/api//certificate/request", body: `{"domains":["a.lan"]}`, status: 404},
		{name: "DotSegment", method: "GET", path: "/api/./root-certificate/obtain", status: 404},
		{name: "DotDotSegment", method: "GET", path: "/api/v1/../root-certificate/obtain", status: 404},
		{name: "TrailingSlash", path: req + "/", body: `{"domains":["a.lan"]}`, status: 404},
		{name: "UnknownMethod", method: "BREW", path: "/api/root-certificate/obtain", status: 405},
		{name: "PutOnRequest", method: "PUT", path: req, body: `{"domains":["a.lan"]}`, status: 405},
		{name: "DeleteCertificate", method: "DELETE", path: "/api/certificate/1/obtain", status: 405},
		// Headers.
		{name: "Token10KBJunk", user: strings.Repeat("\x7e#junk", 10<<10/6), method: "GET", path: "/api/root-certificate/obtain", status: 404},
		{name: "TwoTokens", anon: true, hdr: []string{"X-Auth-Token", "alice", "X-Auth-Token", "bob"}, method: "GET", path: "/api/root-certificate/obtain", status: 400},
		{name: "TwoTokensOneGood", user: "alice", hdr: []string{"X-Auth-Token", "not-a-token"}, method: "GET", path: "/api/root-certificate/obtain", status: 400},
		{name: "BlankToken", anon: true, hdr: []string{"X-Auth-Token", "   "}, method: "GET", path: "/api/root-certificate/obtain", status: 401},
		{name: "NoToken", anon: true, body: `{"domains":["a.lan"]}`, status: 401},
		// Revocation.
		{name: "RevokeJunkBody", path: "/api/certificate/1/revoke", body: "\x00\x01junk", status: 400},
		{name: "RevokeReasonNumber", path: "/api/certificate/1/revoke", body: `{"reason":1}`, status: 400},
		{name: "RevokeReasonHold", path: "/api/certificate/1/revoke", body: `{"reason":"certificateHold"}`, status: 400},
		{name: "RevokeUnknownID", path: "/api/certificate/1/revoke", body: `{"reason":"superseded"}`, status: 404},
		{name: "RevokeBadID", path: "/api/certificate/abc/revoke", status: 400},
		{name: "RevokeHugeBody", path: "/api/certificate/1/revoke", body: huge, status: 413},
		// OCSP and CRL, which take no token.
		{name: "OCSPGarbageGET", method: "GET", anon: true, path: "/api/ocsp/not-base64!!!@@@~~~", status: 200, check: wantOCSPMalformed},
		{name: "OCSPBase64NotDER", method: "GET", anon: true, path: "/api/ocsp/aGVsbG8gd29ybGQ=", status: 200, check: wantOCSPMalformed},
		{name: "OCSPHugeGET", method: "GET", anon: true, path: "/api/ocsp/" + strings.Repeat("QUFB", 2000), status: 200, check: wantOCSPMalformed},
		{name: "OCSPJunkPOST", anon: true, path: "/api/ocsp", body: "junk", status: 200, check: wantOCSPMalformed},
		{name: "OCSPHugePOST", anon: true, path: "/api/ocsp", body: huge, chunked: true, status: 200, check: wantOCSPMalformed},
		{name: "CRLBadFingerprint", method: "GET", anon: true, path: "/api/crl/zz", status: 404},
		{name: "CRLLongFingerprint", method: "GET", anon: true, path: "/api/crl/" + strings.Repeat("ab", 300), status: 404},
		{name: "CRLUnknownFingerprint", method: "GET", anon: true, path: "/api/crl/" + strings.Repeat("0", 64), status: 404},
	}
	e := newEnv(t, envOptions{})
	for _, c := range cases {
		if c.method == "" {
			c.method = "POST"
		}
		if c.path == "" {
			c.path = req
		}
		t.Run(c.name, func(t *testing.T) { runHostile(t, e, c) })
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
}

// TestHostileRequests_Challenge covers the solve route with challenges on.
func TestHostileRequests_Challenge(t *testing.T) {
	e := newEnv(t, envOptions{challenge: true})
	r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["nas.home.lan"]}`).want(t, 202)
	solve := e.path(r.header.Get("X-Challenge-Location"))
	cases := []hostile{
		{name: "PortHuge", hdr: []string{"X-Challenge-Port", strings.Repeat("9", 40)}, status: 400},
		{name: "PortZero", hdr: []string{"X-Challenge-Port", "0"}, status: 400},
		{name: "PortNegative", hdr: []string{"X-Challenge-Port", "-80"}, status: 400},
		{name: "Port65536", hdr: []string{"X-Challenge-Port", "65536"}, status: 400},
		{name: "PortNotANumber", hdr: []string{"X-Challenge-Port", "80abc"}, status: 400},
		{name: "PortHex", hdr: []string{"X-Challenge-Port", "0x50"}, status: 400},
		{name: "OtherUsersChallenge", user: "bob", status: 404},
		{name: "IDDotDot", path: "/api/challenge/../solve", status: 404},
		{name: "IDLong", path: "/api/challenge/" + strings.Repeat("f", 4000) + "/solve", status: 404},
		{name: "IDNUL", path: "/api/challenge/%00/solve", status: 404},
		{name: "WildcardRequest", path: "/api/certificate/request", body: `{"domains":["*.home.lan"]}`, status: 400},
	}
	for _, c := range cases {
		c.method = "POST"
		if c.path == "" {
			c.path = solve
		}
		t.Run(c.name, func(t *testing.T) { runHostile(t, e, c) })
	}
}

func runHostile(t *testing.T, e *env, c hostile) {
	t.Helper()
	before := certCount(t, e)
	r := sendHostile(t, e, c)
	if r.status != c.status {
		t.Errorf("status %d, want %d; body %.200q", r.status, c.status, r.body)
	}
	if r.status >= 500 {
		t.Errorf("a %d is a bug: %.200q", r.status, r.body)
	}
	if c.check != nil {
		c.check(t, r)
	} else if r.status >= 400 {
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("error content type %q, want text/plain", ct)
		}
		if msg := strings.TrimSuffix(r.body, "\n"); msg == "" || strings.ContainsAny(msg, "\r\n") || len(msg) > 600 {
			t.Errorf("error message %.200q (%d bytes) is not one clear line", msg, len(msg))
		}
	}
	if h := e.do("GET", "/healthz", "", ""); h.status != 200 {
		t.Fatalf("after %s: /healthz answers %d", c.name, h.status)
	}
	if after := certCount(t, e); after != before {
		t.Errorf("a refused request stored %d certificates", after-before)
	}
}

// sendHostile sends the request as given: repeated headers, a body with no
// length, methods and paths no well-behaved client would use.
func sendHostile(t *testing.T, e *env, c hostile) response {
	t.Helper()
	var body io.Reader = strings.NewReader(c.body)
	if c.chunked {
		body = io.MultiReader(strings.NewReader(c.body)) // length unknown: chunked
	}
	req, err := http.NewRequest(c.method, e.srv.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.chunked && req.ContentLength != 0 {
		t.Fatalf("body of %d bytes would not be chunked", req.ContentLength)
	}
	if !c.anon {
		if c.user == "" {
			c.user = "alice"
		}
		tok, ok := e.tokens[c.user]
		if !ok {
			tok = c.user
		}
		req.Header.Add("X-Auth-Token", tok)
	}
	for i := 0; i+1 < len(c.hdr); i += 2 {
		v := c.hdr[i+1]
		if tok, ok := e.tokens[v]; ok && c.hdr[i] == "X-Auth-Token" {
			v = tok
		}
		req.Header.Add(c.hdr[i], v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func certCount(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	for user := range e.tokens {
		k, err := e.db.CountCertificates(user)
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
}

// wantOCSPMalformed: OCSP answers every unreadable request with 200 and
// the malformedRequest status inside, as RFC 6960 clients expect.
func wantOCSPMalformed(t *testing.T, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/ocsp-response" {
		t.Errorf("content type %q", ct)
	}
	_, err := xocsp.ParseResponse([]byte(r.body), nil)
	re, ok := err.(xocsp.ResponseError)
	if !ok || re.Status != xocsp.Malformed {
		t.Errorf("OCSP answer %x: %v, want malformedRequest", r.body, err)
	}
	if !bytes.Equal([]byte(r.body), []byte{0x30, 0x03, 0x0a, 0x01, 0x01}) {
		t.Errorf("OCSP answer %x, want the bare malformedRequest response", r.body)
	}
}
