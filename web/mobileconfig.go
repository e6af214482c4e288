package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"

	"certmaker/ca"
)

// mobileconfig is an Apple configuration profile that installs root as a
// trusted root (a com.apple.security.root payload holding its DER), for
// iOS, iPadOS and macOS. It is unsigned: the device says "Not Verified",
// and the fingerprint on the trust page is what to compare.
//
// Identifiers and UUIDs come from the fingerprint, so downloading the
// same root again replaces its profile instead of adding a second, while
// profiles of different roots sit side by side.
func mobileconfig(root *ca.Issuer) []byte {
	name := root.Cert.Subject.CommonName
	if name == "" {
		name = "certmaker root CA"
	}
	short := root.Fingerprint[:min(16, len(root.Fingerprint))]
	var b bytes.Buffer
	str := func(key, value string) {
		fmt.Fprintf(&b, "\t<key>%s</key>\n\t<string>", key)
		xml.EscapeText(&b, []byte(value))
		b.WriteString("</string>\n")
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
	<dict>
`)
	str("PayloadCertificateFileName", "certmaker-root-"+short+".cer")
	b.WriteString("\t<key>PayloadContent</key>\n\t<data>")
	b.WriteString(base64.StdEncoding.EncodeToString(root.Cert.Raw))
	b.WriteString("</data>\n")
	str("PayloadDescription", "Adds the root CA "+name+".")
	str("PayloadDisplayName", name)
	str("PayloadIdentifier", "certmaker.root."+short+".certificate")
	str("PayloadType", "com.apple.security.root")
	str("PayloadUUID", profileUUID("certificate", root.Fingerprint))
	b.WriteString("\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n\t</dict>\n\t</array>\n")
	str("PayloadDescription", "Makes this device trust certificates from the certmaker CA "+name+
		" (SHA-256 "+ca.Colons(root.Fingerprint)+"). On iPhone and iPad, after installing, turn on full trust in Settings > General > About > Certificate Trust Settings.")
	str("PayloadDisplayName", "certmaker root CA: "+name)
	str("PayloadIdentifier", "certmaker.root."+short)
	if org := root.Cert.Subject.Organization; len(org) > 0 {
		str("PayloadOrganization", org[0])
	}
	b.WriteString("\t<key>PayloadRemovalDisallowed</key>\n\t<false/>\n")
	str("PayloadType", "Configuration")
	str("PayloadUUID", profileUUID("profile", root.Fingerprint))
	b.WriteString("\t<key>PayloadVersion</key>\n\t<integer>1</integer>\n</dict>\n</plist>\n")
	return b.Bytes()
}

// profileUUID is a name-based UUID (RFC 9562 version 8) of a fingerprint.
func profileUUID(kind, fingerprint string) string {
	h := sha256.Sum256([]byte("certmaker mobileconfig " + kind + " " + fingerprint))
	h[6] = h[6]&0x0f | 0x80
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
