package challenge

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ALPNProtocol is the protocol a tls-alpn-01 server offers (RFC 8737 6.2).
const ALPNProtocol = "acme-tls/1"

// OIDACMEIdentifier is the certificate extension that carries the digest
// of the key authorization (RFC 8737 6.1).
var OIDACMEIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// checkTLSALPN connects to each address of the identifier on the target's
// port, until one connects, and judges the certificate it shows for the
// acme-tls/1 protocol. Nothing of the handshake's errors or of the
// certificate is repeated in a reason.
func (c *Checker) checkTLSALPN(ctx context.Context, t Target) *Error {
	id := t.Identifier
	fail := failer(id)
	addrs, host, r, err := c.addresses(ctx, id)
	if r != nil {
		return fail(*r, err)
	}
	sni := host
	if ip, err := netip.ParseAddr(host); err == nil {
		sni = reverseName(ip) // RFC 8738 6
	}
	var firstErr error
	for _, a := range addrs {
		conn, err := c.dial(ctx, "tcp", net.JoinHostPort(a.String(), strconv.Itoa(t.Port)))
		if err != nil {
			if ctx.Err() == nil {
				// Nothing was sent: the next address may still answer.
				if firstErr == nil {
					firstErr = &dialError{err: err}
				}
				continue
			}
			return fail(c.fetchReason(ctx, err), err)
		}
		return c.judgeTLS(ctx, id, conn, sni, t.Want)
	}
	return fail(c.fetchReason(ctx, firstErr), firstErr)
}

// judgeTLS runs the handshake on conn and checks the certificate: for
// exactly the identifier (one SAN), with a critical acmeIdentifier that is
// the SHA-256 of the key authorization (RFC 8737 3).
func (c *Checker) judgeTLS(ctx context.Context, id string, conn net.Conn, sni, keyAuth string) *Error {
	fail := failer(id)
	tc := tls.Client(conn, &tls.Config{
		ServerName: sni,
		NextProtos: []string{ALPNProtocol},
		// The certificate is self-signed by design; what proves the
		// name is its acmeIdentifier, checked below.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
	})
	defer tc.Close()
	if err := tc.HandshakeContext(ctx); err != nil {
		if r := c.stopped(ctx); r.text != "" {
			return fail(r, err)
		}
		var netErr net.Error
		switch {
		case errors.As(err, &netErr) && netErr.Timeout():
			return fail(reason{CodeTimeout, "timed out"}, err)
		case errors.Is(err, syscall.ECONNRESET):
			return fail(reason{CodeConnection, "connection reset"}, err)
		}
		return fail(reason{CodeTLS, "TLS handshake failed"}, err)
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol != ALPNProtocol {
		return fail(reason{CodeTLS, "the TLS server did not choose the protocol " + ALPNProtocol}, nil)
	}
	if len(st.PeerCertificates) == 0 {
		return fail(reason{CodeBadCertificate, "the TLS server sent no certificate"}, nil)
	}
	if why := provesKeyAuth(st.PeerCertificates[0], id, keyAuth); why != "" {
		code := CodeBadCertificate
		if why == wrongDigest {
			code = CodeWrongToken
		}
		return fail(reason{code, why}, nil)
	}
	return nil
}

const wrongDigest = "the certificate's acmeIdentifier is not the digest of the key authorization"

// provesKeyAuth says why cert is no tls-alpn-01 proof of id for keyAuth,
// or "" when it is one.
func provesKeyAuth(cert *x509.Certificate, id, keyAuth string) string {
	if ip, err := netip.ParseAddr(id); err == nil {
		ip = ip.Unmap()
		if len(cert.IPAddresses) != 1 || len(cert.DNSNames) != 0 {
			return "the certificate must name exactly the address, once"
		}
		got, ok := netip.AddrFromSlice(cert.IPAddresses[0])
		if !ok || got.Unmap() != ip {
			return "the certificate names another address"
		}
	} else {
		if len(cert.DNSNames) != 1 || len(cert.IPAddresses) != 0 {
			return "the certificate must name exactly the name, once"
		}
		if normalizeName(cert.DNSNames[0]) != normalizeName(id) {
			return "the certificate names another name"
		}
	}
	if len(cert.EmailAddresses) != 0 || len(cert.URIs) != 0 {
		return "the certificate must name nothing but the identifier"
	}
	i := slices.IndexFunc(cert.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(OIDACMEIdentifier) })
	if i < 0 {
		return "the certificate has no acmeIdentifier extension"
	}
	ext := cert.Extensions[i]
	if !ext.Critical {
		return "the certificate's acmeIdentifier extension is not critical"
	}
	var digest []byte
	if rest, err := asn1.Unmarshal(ext.Value, &digest); err != nil || len(rest) != 0 || len(digest) != sha256.Size {
		return "the certificate's acmeIdentifier is not a SHA-256 digest"
	}
	want := sha256.Sum256([]byte(keyAuth))
	if subtle.ConstantTimeCompare(digest, want[:]) != 1 {
		return wrongDigest
	}
	return ""
}

// reverseName is the reverse-mapping name of an address, the SNI of a
// tls-alpn-01 proof of an IP address (RFC 8738 6).
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		for i := len(a) - 1; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])) + ".")
		}
		b.WriteString("in-addr.arpa")
		return b.String()
	}
	a := ip.As16()
	const hexDigits = "0123456789abcdef"
	for i := len(a) - 1; i >= 0; i-- {
		b.WriteByte(hexDigits[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hexDigits[a[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa")
	return b.String()
}
