package api_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"certmaker/ca"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := e.ops.SetDisabled(t.Context(), "bob", true); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		user   string
		status int
	}{
		{"Missing", "", 401},
		{"UnknownToken", "not-a-token", 404},
		{"Disabled", "bob", 401},
		{"Enabled", "alice", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, prefix := range []string{"/api", "/api/v1"} {
				r := e.do("GET", prefix+"/root-certificate/obtain", c.user, "").want(t, c.status)
				if c.status != 200 && !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
					t.Errorf("error content type %q, want text/plain", r.header.Get("Content-Type"))
				}
			}
		})
	}
	t.Run("EmptyHeader", func(t *testing.T) {
		e.do("GET", "/api/root-certificate/obtain", "", "", "X-Auth-Token", "").want(t, 401)
	})
	t.Run("HealthzWithoutToken", func(t *testing.T) {
		if r := e.do("GET", "/healthz", "", "").want(t, 200); r.body != "ok\n" {
			t.Errorf("body %q", r.body)
		}
	})
	t.Run("EnabledAgain", func(t *testing.T) {
		if err := e.ops.SetDisabled(t.Context(), "bob", false); err != nil {
			t.Fatal(err)
		}
		e.do("GET", "/api/root-certificate/obtain", "bob", "").want(t, 200)
	})
}

func TestRootObtain(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, prefix := range []string{"/api", "/api/v1"} {
		root := e.cert("alice", prefix+"/root-certificate/obtain")
		if !root.Equal(e.ca.ActiveRoot().Cert) {
			t.Errorf("%s: served root is not the active root", prefix)
		}
	}
}

func TestRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.ca.Active()
	t.Run("Simple", func(t *testing.T) {
		r := e.do("POST", "/api/certificate/request", "alice", `{"domains":["nas.home.lan"],"ips":["192.168.1.20"]}`).want(t, 200)
		certLoc, keyLoc := r.header.Get("X-Certificate-Location"), r.header.Get("X-Privatekey-Location")
		leaf := e.cert("alice", e.path(certLoc))
		if want := fmt.Sprintf("http://ca.test:8880/api/certificate/%s/obtain", leaf.SerialNumber); certLoc != want {
			t.Errorf("certificate location %q, want %q", certLoc, want)
		}
		if want := fmt.Sprintf("http://ca.test:8880/api/privatekey/%s/obtain", leaf.SerialNumber); keyLoc != want {
			t.Errorf("key location %q, want %q", keyLoc, want)
		}
		if strings.TrimSpace(r.body) != leaf.SerialNumber.String() {
			t.Errorf("body %q, want the id", r.body)
		}
		verify(t, leaf, root, "nas.home.lan")
		verify(t, leaf, root, "192.168.1.20")
		if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 7*24*time.Hour {
			t.Errorf("validity %v, want the default 7 days", got)
		}
		kr := e.do("GET", e.path(keyLoc), "alice", "").want(t, 200)
		if ct := kr.header.Get("Content-Type"); ct != "application/x-pem-file" {
			t.Errorf("key content type %q", ct)
		}
		key := parseKeyPEM(t, kr.body)
		if !key.Public().(*ecdsa.PublicKey).Equal(leaf.PublicKey) {
			t.Error("private key does not match the certificate")
		}
	})
	t.Run("V1PrefixAndNewAlias", func(t *testing.T) {
		r := e.do("POST", "/api/v1/certificate/new", "alice", `{"domains":["a.home.lan"]}`).want(t, 200)
		loc := r.header.Get("X-Certificate-Location")
		if !strings.HasPrefix(loc, "http://ca.test:8880/api/v1/certificate/") {
			t.Errorf("location %q does not use the request's /api/v1 prefix", loc)
		}
		e.cert("alice", e.path(loc))
	})
	t.Run("FormContentType", func(t *testing.T) {
		// curl -d sends application/x-www-form-urlencoded; scripts must work.
		e.do("POST", "/api/certificate/request", "alice", `{"domains":["b.home.lan"]}`, "Content-Type", "application/x-www-form-urlencoded").want(t, 200)
	})
	t.Run("UnknownFieldsIgnored", func(t *testing.T) {
		e.do("POST", "/api/certificate/request", "alice", `{"domains":["c.home.lan"],"flavour":"vanilla"}`).want(t, 200)
	})
	t.Run("GoSDKEmails", func(t *testing.T) {
		// The 2022 CertMaker Go SDK names the list "emails"; both
		// spellings are taken, merged.
		certPath, _ := e.issue("alice", `{"domains":["sdk.home.lan"],"ips":null,"emails":["a@home.lan"],"email_addresses":["b@home.lan"],"subject":{"common_name":"","organization":"","country":"","province":"","locality":"","street_address":"","postal_code":""},"days":3}`)
		leaf := e.cert("alice", certPath)
		if !slices.Equal(leaf.EmailAddresses, []string{"b@home.lan", "a@home.lan"}) {
			t.Errorf("emails %v, want both lists", leaf.EmailAddresses)
		}
	})
	t.Run("CertMakerBot", func(t *testing.T) {
		// CertMaker-Bot's exact body: json.Marshal of its Go struct, so
		// Go field names, and its own settings the API ignores.
		certPath, keyPath := e.issue("alice", `{"Domains":["pihole","pihole.lan"],"IPs":null,"Subject":{"Organization":"My Homelab","Country":"DE","Province":"Some province","Locality":"Cologne","StreetAddress":"Domstraße 1","PostalCode":"50667"},"Days":30,"CertFile":"/opt/app-certs/pihole/cert.pem","KeyFile":"/opt/app-certs/pihole/key.pem","PostCommands":["systemctl restart pihole-FTL"]}`)
		leaf := e.cert("alice", certPath)
		verify(t, leaf, root, "pihole.lan")
		s := leaf.Subject
		if s.CommonName != "pihole" || s.Organization[0] != "My Homelab" || s.Locality[0] != "Cologne" ||
			!slices.Equal(s.StreetAddress, []string{"Domstraße 1"}) || !slices.Equal(s.PostalCode, []string{"50667"}) {
			t.Errorf("subject %+v", s)
		}
		if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 30*24*time.Hour {
			t.Errorf("validity %v, want 30 days", got)
		}
		e.do("GET", keyPath, "alice", "").want(t, 200)
	})
	t.Run("SubjectAndEmail", func(t *testing.T) {
		certPath, _ := e.issue("alice", `{"domains":["d.home.lan"],"email_addresses":["ops@home.lan"],
			"subject":{"common_name":"d.home.lan","organization":"Home","country":"de","locality":"Berlin"}}`)
		leaf := e.cert("alice", certPath)
		if leaf.Subject.CommonName != "d.home.lan" || leaf.Subject.Organization[0] != "Home" || leaf.Subject.Country[0] != "DE" || leaf.Subject.Locality[0] != "Berlin" {
			t.Errorf("subject %v", leaf.Subject)
		}
		if len(leaf.EmailAddresses) != 1 || leaf.EmailAddresses[0] != "ops@home.lan" {
			t.Errorf("emails %v", leaf.EmailAddresses)
		}
	})
}

func TestRequest_KeyTypes(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.ca.Active()
	for _, kt := range ca.KeyTypes() {
		t.Run(string(kt), func(t *testing.T) {
			certPath, keyPath := e.issue("alice", fmt.Sprintf(`{"domains":["k.home.lan"],"key_type":%q}`, kt))
			leaf := e.cert("alice", certPath)
			verify(t, leaf, root, "k.home.lan")
			key := parseKeyPEM(t, e.do("GET", keyPath, "alice", "").want(t, 200).body)
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !key.Public().(equaler).Equal(leaf.PublicKey) {
				t.Error("key does not match certificate")
			}
			got, err := ca.KeyTypeOf(leaf.PublicKey)
			if err != nil || got != kt {
				t.Errorf("certificate key type %v (%v), want %v", got, err, kt)
			}
		})
	}
}

func TestRequest_Days(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		days, want int
	}{{0, 7}, {1, 1}, {30, 30}, {182, 182}, {1000, 182}, {-5, 1}}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.days), func(t *testing.T) {
			certPath, _ := e.issue("alice", fmt.Sprintf(`{"domains":["days.home.lan"],"days":%d}`, c.days))
			leaf := e.cert("alice", certPath)
			if got := leaf.NotAfter.Sub(leaf.NotBefore); got != time.Duration(c.want)*24*time.Hour {
				t.Errorf("validity %v, want %d days", got, c.want)
			}
		})
	}
}

func TestRequest_BadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name, body string
		status     int
		mention    string // the error must name this
	}{
		{"MalformedJSON", `{"domains":[`, 400, "JSON"},
		{"EmptyBody", ``, 400, "empty"},
		{"NotAnObject", `["a.lan"]`, 400, "JSON"},
		{"DomainsWrongType", `{"domains":"a.lan"}`, 400, "domains"},
		{"DaysWrongType", `{"domains":["a.lan"],"days":"7"}`, 400, "days"},
		{"DaysHuge", `{"domains":["a.lan"],"days":1e40}`, 400, "days"},
		{"TrailingGarbage", `{"domains":["a.lan"]} {"x":1}`, 400, "JSON"},
		{"NoNames", `{}`, 400, "at least one"},
		{"EmptyLists", `{"domains":[],"ips":[],"email_addresses":[]}`, 400, "at least one"},
		{"BadDomain", `{"domains":["bad_name.lan"]}`, 400, "bad_name.lan"},
		{"EmptyDomain", `{"domains":[""]}`, 400, "empty"},
		{"LongLabel", `{"domains":["` + strings.Repeat("a", 64) + `.lan"]}`, 400, "63"},
		{"LongName", `{"domains":["` + strings.Repeat("abcdefghi.", 30) + `lan"]}`, 400, "253"},
		{"WildcardInMiddle", `{"domains":["a.*.lan"]}`, 400, "a.*.lan"},
		{"BadIP", `{"ips":["300.1.1.1"]}`, 400, "300.1.1.1"},
		{"IPWithZone", `{"ips":["fe80::1%eth0"]}`, 400, "zone"},
		{"UnspecifiedIP", `{"ips":["0.0.0.0"]}`, 400, "unspecified"},
		{"UnspecifiedIPv6", `{"ips":["::"]}`, 400, "unspecified"},
		{"BroadcastIP", `{"ips":["255.255.255.255"]}`, 400, "broadcast"},
		{"MulticastIP", `{"domains":["a.lan"],"ips":["239.1.2.3"]}`, 400, "multicast"},
		{"MulticastIPv6", `{"ips":["ff02::fb"]}`, 400, "multicast"},
		{"BadEmail", `{"email_addresses":["Alice <a@b.lan>"]}`, 400, "a@b.lan"},
		{"BadKeyType", `{"domains":["a.lan"],"key_type":"dsa-1024"}`, 400, "dsa-1024"},
		{"BadCountry", `{"domains":["a.lan"],"subject":{"country":"Germany"}}`, 400, "country"},
		{"CNNotAName", `{"domains":["a.lan"],"subject":{"common_name":"My Server"}}`, 400, "common_name"},
		{"ControlCharInOrg", `{"domains":["a.lan"],"subject":{"organization":"A\u0000B"}}`, 400, "organization"},
		{"TooManyNames", `{"domains":[` + manyNames(101) + `]}`, 400, "at most"},
		{"TooLarge", `{"domains":["a.lan"],"pad":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/certificate/request", "alice", c.body).want(t, c.status)
			if !strings.Contains(r.body, c.mention) {
				t.Errorf("message %q does not mention %q", r.body, c.mention)
			}
			if strings.Count(strings.TrimSpace(r.body), "\n") != 0 {
				t.Errorf("message %q is not one line", r.body)
			}
		})
	}
	n, err := e.db.CountCertificates("alice")
	if err != nil || n != 0 {
		t.Errorf("bad requests stored %d certificates (%v)", n, err)
	}
}

func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf(`"n%d.lan"`, i)
	}
	return strings.Join(names, ",")
}

func TestObtain_OwnerRule(t *testing.T) {
	e := newEnv(t, envOptions{})
	certPath, keyPath := e.issue("alice", `{"domains":["mine.home.lan"]}`)
	cases := []struct {
		name, user, path string
		status           int
	}{
		{"OwnerCert", "alice", certPath, 200},
		{"OwnerKey", "alice", keyPath, 200},
		{"OtherUserCert", "bob", certPath, 404},
		{"OtherUserKey", "bob", keyPath, 404},
		{"AdminCert", "root", certPath, 200},
		{"AdminKey", "root", keyPath, 404},
		{"UnknownID", "alice", "/api/certificate/12345678901234567890/obtain", 404},
		{"UnknownKeyID", "alice", "/api/privatekey/12345678901234567890/obtain", 404},
		{"NonNumericID", "alice", "/api/certificate/abc/obtain", 400},
		{"ZeroID", "alice", "/api/certificate/0/obtain", 400},
		{"NegativeID", "alice", "/api/certificate/-5/obtain", 400},
		{"HugeID", "alice", "/api/certificate/" + strings.Repeat("9", 60) + "/obtain", 400},
		{"HexID", "alice", "/api/certificate/0x1f/obtain", 400},
		{"NoToken", "", certPath, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.do("GET", c.path, c.user, "").want(t, c.status)
		})
	}
	t.Run("SameAnswerForOthersAndUnknown", func(t *testing.T) {
		// The body must not reveal that the id exists.
		other := e.do("GET", certPath, "bob", "").body
		if strings.Contains(other, "alice") || strings.Contains(other, "owner") {
			t.Errorf("404 body leaks the owner: %q", other)
		}
	})
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.do("GET", "/api/nothing", "alice", "").want(t, 404)
	e.do("POST", "/api/certificate/bogus", "alice", "{}").want(t, 404)
	e.do("GET", "/api/certificate/request", "alice", "").want(t, 405)
	e.do("DELETE", "/api/root-certificate/obtain", "alice", "").want(t, 405)
	e.do("GET", "/api/v2/root-certificate/obtain", "alice", "").want(t, 404)
}

// csrPEM makes a CSR signed by key for the given names.
func csrPEM(t *testing.T, key crypto.Signer, cn string, dns ...string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func TestRequestWithCSR(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.ca.Active()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)

	t.Run("Good", func(t *testing.T) {
		for _, key := range []crypto.Signer{ecKey, edKey} {
			r := e.do("POST", "/api/certificate/request-with-csr", "alice", csrPEM(t, key, "csr.home.lan", "csr.home.lan", "alt.home.lan")).want(t, 200)
			if r.header.Get("X-Privatekey-Location") != "" {
				t.Error("a CSR answer must not offer a private key")
			}
			leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
			verify(t, leaf, root, "alt.home.lan")
			if !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Error("certificate is not for the CSR's key")
			}
			keyPath := strings.Replace(e.path(r.header.Get("X-Certificate-Location")), "/certificate/", "/privatekey/", 1)
			e.do("GET", keyPath, "alice", "").want(t, 404)
		}
	})
	t.Run("CNOnly", func(t *testing.T) {
		r := e.do("POST", "/api/certificate/request-with-csr", "alice", csrPEM(t, ecKey, "cn-only.home.lan")).want(t, 200)
		leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
		verify(t, leaf, root, "cn-only.home.lan")
	})
	t.Run("Days", func(t *testing.T) {
		r := e.do("POST", "/api/v1/certificate/request-with-csr?days=30", "alice", csrPEM(t, ecKey, "", "days.home.lan")).want(t, 200)
		leaf := e.cert("alice", e.path(r.header.Get("X-Certificate-Location")))
		if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 30*24*time.Hour {
			t.Errorf("validity %v, want 30 days", got)
		}
	})
	broken := csrPEM(t, ecKey, "", "broken.home.lan")
	b, _ := pem.Decode([]byte(broken))
	b.Bytes[len(b.Bytes)-3] ^= 0xff
	brokenPEM := string(pem.EncodeToMemory(b))
	bad := []struct {
		name, query, body string
		status            int
	}{
		{"NotPEM", "", "hello", 400},
		{"Empty", "", "", 400},
		{"WrongPEMType", "", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})), 400},
		{"GarbageDER", "", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 3, 1, 2, 3}})), 400},
		{"BadSignature", "", brokenPEM, 400},
		{"WeakRSA", "", csrPEM(t, weak, "", "weak.home.lan"), 400},
		{"CurveP224", "", csrPEM(t, p224, "", "p224.home.lan"), 400},
		{"NoNames", "", csrPEM(t, ecKey, "My Laptop"), 400},
		{"BadDaysParam", "?days=abc", csrPEM(t, ecKey, "", "x.home.lan"), 400},
		{"TooLarge", "", strings.Repeat("A", 65<<10), 413},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			e.do("POST", "/api/certificate/request-with-csr"+c.query, "alice", c.body).want(t, c.status)
		})
	}
}

func TestRestartKeepsCertificates(t *testing.T) {
	e := newEnv(t, envOptions{})
	certPath, keyPath := e.issue("alice", `{"domains":["durable.home.lan"]}`)
	before := e.cert("alice", certPath)
	rootFP := e.ca.Active().Fingerprint
	e.restart(envOptions{})
	if e.ca.Active().Fingerprint != rootFP {
		t.Fatal("restart changed the active root")
	}
	after := e.cert("alice", certPath)
	if !before.Equal(after) {
		t.Error("certificate changed across restart")
	}
	e.do("GET", keyPath, "alice", "").want(t, 200)
	verify(t, after, e.ca.Active(), "durable.home.lan")
}

func TestRotateRoot(t *testing.T) {
	e := newEnv(t, envOptions{})
	oldIssuer := e.ca.Active()
	oldRoot := oldIssuer.Anchor().Cert
	oldPath, _ := e.issue("alice", `{"domains":["old.home.lan"]}`)
	fp, err := e.ops.RotateRoot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	newRoot := e.cert("alice", "/api/root-certificate/obtain")
	if ca.Fingerprint(newRoot.Raw) != fp || newRoot.Equal(oldRoot) {
		t.Fatalf("served root is not the rotated one")
	}
	newPath, _ := e.issue("alice", `{"domains":["new.home.lan"]}`)
	newIssuer := e.ca.Active()
	if !newIssuer.Anchor().Cert.Equal(newRoot) || newIssuer == oldIssuer {
		t.Fatal("the new root's intermediate does not issue")
	}
	verify(t, e.cert("alice", newPath), newIssuer, "new.home.lan")
	// The old certificate stays obtainable and valid under its own root.
	verify(t, e.cert("alice", oldPath), oldIssuer, "old.home.lan")

	e.restart(envOptions{})
	if e.ca.ActiveRoot().Fingerprint != fp {
		t.Error("rotation did not survive a restart")
	}
	if len(e.ca.Roots()) != 2 || e.ca.Root(ca.Fingerprint(oldRoot.Raw)) == nil {
		t.Error("old root not kept after restart")
	}
}

func TestConcurrentRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	const n = 40
	type result struct {
		status int
		loc    string
		err    error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/certificate/request", strings.NewReader(fmt.Sprintf(`{"domains":["c%d.home.lan"]}`, i)))
			req.Header.Set("X-Auth-Token", e.tokens["alice"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			resp.Body.Close()
			results <- result{status: resp.StatusCode, loc: resp.Header.Get("X-Certificate-Location")}
		}()
	}
	seen := map[string]bool{}
	for range n {
		r := <-results
		if r.err != nil || r.status != 200 {
			t.Fatalf("request failed: %d %v", r.status, r.err)
		}
		if seen[r.loc] {
			t.Fatalf("location %s handed out twice", r.loc)
		}
		seen[r.loc] = true
	}
	for loc := range seen {
		e.cert("alice", e.path(loc))
	}
	if got, _ := e.db.CountCertificates("alice"); got != n {
		t.Errorf("%d certificates stored, want %d", got, n)
	}
}
