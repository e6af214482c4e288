package challenge_test

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"certmaker/challenge"
	"certmaker/internal/alpntest"
)

const keyAuth = "token123.thumbprint456"

func alpnTarget(id string, port int) challenge.Target {
	return challenge.Target{Method: challenge.TLSALPN, Identifier: id, Port: port, Want: keyAuth}
}

func TestChecker_TLSALPN(t *testing.T) {
	hosts := map[string][]netip.Addr{"a.test": {ip2}}
	good := alpntest.Serve(t, "127.0.0.2:0", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth})
	c := newChecker(t, challenge.Config{AllowedPorts: []int{good.Port}, Hosts: hosts})
	if err := c.CheckOne(t.Context(), requester, alpnTarget("a.test", good.Port)); err != nil {
		t.Fatalf("a correct proof: %v", err)
	}
	snis, alpn := good.Hellos()
	if !slices.Equal(snis, []string{"a.test"}) || len(alpn) != 1 || !slices.Equal(alpn[0], []string{"acme-tls/1"}) {
		t.Errorf("the server was offered SNI %q and ALPN %q, want a.test and acme-tls/1 alone", snis, alpn)
	}
}

// TestChecker_TLSALPN_Address: an IP address is proven with its reverse
// name as SNI and the address as the certificate's one name (RFC 8738).
func TestChecker_TLSALPN_Address(t *testing.T) {
	srv := alpntest.Serve(t, "127.0.0.2:0", alpntest.Proof{Name: "127.0.0.2", KeyAuth: keyAuth})
	c := newChecker(t, challenge.Config{AllowedPorts: []int{srv.Port}})
	if err := c.CheckOne(t.Context(), requester, alpnTarget("127.0.0.2", srv.Port)); err != nil {
		t.Fatalf("an address: %v", err)
	}
	if snis, _ := srv.Hellos(); !slices.Equal(snis, []string{"2.0.0.127.in-addr.arpa"}) {
		t.Errorf("SNI %q, want 2.0.0.127.in-addr.arpa", snis)
	}
	v6 := alpntest.Serve(t, "[::1]:0", alpntest.Proof{Name: "::1", KeyAuth: keyAuth})
	c = newChecker(t, challenge.Config{AllowedPorts: []int{v6.Port}})
	if err := c.CheckOne(t.Context(), requester, alpnTarget("::1", v6.Port)); err != nil {
		t.Fatalf("::1: %v", err)
	}
	want := "1." + strings.Repeat("0.", 31) + "ip6.arpa"
	if snis, _ := v6.Hellos(); !slices.Equal(snis, []string{want}) {
		t.Errorf("SNI %q, want %s", snis, want)
	}
}

func TestChecker_TLSALPN_Refused(t *testing.T) {
	hosts := map[string][]netip.Addr{"a.test": {ip2}}
	tests := []struct {
		name   string
		proof  alpntest.Proof
		code   challenge.Code
		reason string
	}{
		{"WrongDigest", alpntest.Proof{Name: "a.test", KeyAuth: "other"}, challenge.CodeWrongToken, "the certificate's acmeIdentifier is not the digest of the key authorization"},
		{"NotCritical", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth, NotCritical: true}, challenge.CodeBadCertificate, "the certificate's acmeIdentifier extension is not critical"},
		{"NoExtension", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth, NoExtension: true}, challenge.CodeBadCertificate, "the certificate has no acmeIdentifier extension"},
		{"ShortDigest", alpntest.Proof{Name: "a.test", RawDigest: []byte("short")}, challenge.CodeBadCertificate, "the certificate's acmeIdentifier is not a SHA-256 digest"},
		{"OtherName", alpntest.Proof{Name: "b.test", KeyAuth: keyAuth}, challenge.CodeBadCertificate, "the certificate names another name"},
		{"ExtraName", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth, ExtraNames: []string{"b.test"}}, challenge.CodeBadCertificate, "the certificate must name exactly the name, once"},
		{"NoALPN", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth, Protocols: []string{}}, challenge.CodeTLS, "the TLS server did not choose the protocol acme-tls/1"},
		{"OtherProtocols", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth, Protocols: []string{"h2", "http/1.1"}}, challenge.CodeTLS, "TLS handshake failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := alpntest.Serve(t, "127.0.0.2:0", tt.proof)
			c := newChecker(t, challenge.Config{AllowedPorts: []int{srv.Port}, Hosts: hosts})
			wantFail(t, c.CheckOne(t.Context(), requester, alpnTarget("a.test", srv.Port)), tt.code, tt.reason)
		})
	}
	t.Run("NotTLS", func(t *testing.T) {
		p := banner(t, "127.0.0.2:0", "SSH-2.0-OpenSSH_9.6p1 "+marker+"\r\n")
		c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: hosts})
		err := c.CheckOne(t.Context(), requester, alpnTarget("a.test", p))
		wantFail(t, err, challenge.CodeTLS, "TLS handshake failed")
		if strings.Contains(err.Error(), marker) {
			t.Errorf("error %q repeats the peer's bytes", err)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		p := closedPort(t, "127.0.0.2")
		c := newChecker(t, challenge.Config{AllowedPorts: []int{p}, Hosts: hosts})
		wantFail(t, c.CheckOne(t.Context(), requester, alpnTarget("a.test", p)), challenge.CodeRefused, "connection refused")
	})
	t.Run("DeniedNetwork", func(t *testing.T) {
		srv := alpntest.Serve(t, "127.0.0.2:0", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth})
		c := newChecker(t, challenge.Config{AllowedPorts: []int{srv.Port}, Hosts: hosts,
			DeniedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/24")}})
		wantFail(t, c.CheckOne(t.Context(), requester, alpnTarget("a.test", srv.Port)), challenge.CodeAddress, "address 127.0.0.2 is in a denied network")
		if snis, _ := srv.Hellos(); len(snis) != 0 {
			t.Errorf("the checker connected to a denied address: %q", snis)
		}
	})
	t.Run("PortNotAllowed", func(t *testing.T) {
		srv := alpntest.Serve(t, "127.0.0.2:0", alpntest.Proof{Name: "a.test", KeyAuth: keyAuth})
		c := newChecker(t, challenge.Config{Hosts: hosts})
		wantFail(t, c.CheckOne(t.Context(), requester, alpnTarget("a.test", srv.Port)), challenge.CodeTarget, "invalid port")
	})
}

// banner answers every connection with text at once, as an SSH server
// does, whatever the client sends.
func banner(t *testing.T, addr, text string) int {
	t.Helper()
	ln := listen(t, addr)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Write([]byte(text))
			conn.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
