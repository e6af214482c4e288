package core_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math/big"
	"net/netip"
	"slices"
	"testing"

	"certmaker/ca"
	"certmaker/challenge"
	"certmaker/core"
	"certmaker/internal/dnstest"
)

// TestParseCertID_RFC9773: the certID of RFC 9773 4.1's example, read and
// written back.
func TestParseCertID_RFC9773(t *testing.T) {
	const example = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
	id, err := core.ParseCertID(example)
	if err != nil {
		t.Fatal(err)
	}
	aki, _ := hex.DecodeString("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
	if !bytes.Equal(id.AKI, aki) || id.Serial.Cmp(big.NewInt(0x87654321)) != 0 {
		t.Errorf("parsed %x / %x", id.AKI, id.Serial)
	}
	if got := id.String(); got != example {
		t.Errorf("written back as %q", got)
	}
	// Besides the malformed: a serial as DER never writes it, with a
	// zero byte more than its sign needs (AACHZUMh is the example's
	// serial so, AAEC is 0x0102 so), and zero, no certificate's serial.
	for _, bad := range []string{"", "nodot", ".AIdlQyE", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.gA", "a+b.AQ",
		"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AACHZUMh", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AAEC", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA"} {
		if _, err := core.ParseCertID(bad); core.KindOf(err) != core.Invalid {
			t.Errorf("%q: %v, want Invalid", bad, err)
		}
	}
}

// TestRequest_DNSProof: with challenges required, a request may prove its
// names with DNS: wildcards become possible, IP addresses are not; the
// TXT records to publish come with the challenge, and solving looks them
// up. Over HTTP a wildcard stays refused.
func TestRequest_DNSProof(t *testing.T) {
	srv := dnstest.Serve(t, "127.0.0.2")
	checker, err := challenge.New(challenge.Config{DNSServers: []netip.AddrPort{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := openService(t, func(c *core.Config) { c.ChallengeRequired, c.Checker = true, checker })
	ctx := context.Background()
	alice := core.Actor{Door: core.DoorAPI, User: "alice"}

	if _, err := svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "*.lab.test"), KeyType: ca.KeyECDSAP256}); core.KindOf(err) != core.Invalid {
		t.Errorf("a wildcard over HTTP: %v, want Invalid", err)
	}
	ipReq := request(t, "lab.test")
	ipReq.IPs = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	if _, err := svc.Request(ctx, alice, core.CertificateRequest{Request: ipReq, KeyType: ca.KeyECDSAP256, Proof: core.ProofDNS}); core.KindOf(err) != core.Invalid {
		t.Errorf("an IP address with DNS: %v, want Invalid", err)
	}

	res, err := svc.Request(ctx, alice, core.CertificateRequest{Request: request(t, "*.lab.test", "lab.test", "nas.lab.test", "localhost"), KeyType: ca.KeyECDSAP256, Proof: core.ProofDNS})
	if err != nil || res.Challenge == nil {
		t.Fatalf("a DNS proof: %+v, %v", res, err)
	}
	tok := res.Challenge.Token
	want := []core.DNSRecord{{Name: "_acme-challenge.lab.test", Value: tok}, {Name: "_acme-challenge.nas.lab.test", Value: tok}}
	if !slices.Equal(res.DNS, want) {
		t.Errorf("records %+v, want %+v", res.DNS, want)
	}
	if p, err := svc.Challenge(ctx, alice, res.Challenge.ID); err != nil || !slices.Equal(p.DNS, want) {
		t.Errorf("the pending challenge's records %+v, %v", p.DNS, err)
	}

	// Only one name published: the solve fails, naming the other.
	srv.TXT("_acme-challenge.lab.test", tok)
	_, err = svc.SolveChallenge(ctx, alice, res.Challenge.ID, 80)
	var ce *challenge.Error
	if core.KindOf(err) != core.ChallengeFailed || !errors.As(err, &ce) || ce.Identifier != "nas.lab.test" {
		t.Fatalf("a solve with one record missing: %v", err)
	}
	srv.TXT("_acme-challenge.nas.lab.test", "other", tok)
	ch, err := svc.SolveChallenge(ctx, alice, res.Challenge.ID, 80)
	if err != nil || ch.Serial == nil {
		t.Fatalf("the solve: %+v, %v", ch, err)
	}
	c, err := svc.Certificate(ctx, alice, ch.Serial)
	if err != nil || !slices.Equal(c.Names, []string{"*.lab.test", "lab.test", "nas.lab.test", "localhost"}) {
		t.Errorf("issued for %v (%v)", c.Names, err)
	}
	for _, q := range srv.Queries() {
		if q != "TXT _acme-challenge.lab.test" && q != "TXT _acme-challenge.nas.lab.test" {
			t.Errorf("asked %q", q)
		}
	}
}
