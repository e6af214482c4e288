package web

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"certmaker/ca"
	"certmaker/inventory"
)

// The trust page is public: a root certificate is no secret, and the
// devices that need it (a phone, a TV box) have no token. It serves the
// same bytes as `root export`, in the forms each platform takes.

// trust is what the public trust page needs that never changes while the
// server runs: its URL and a QR code of it, made once.
type trust struct {
	url   string // public URL of the page
	qrPNG []byte
	qrPx  int  // its width and height in pixels
	local bool // the URL names this machine only: phones cannot open it
}

func newTrust(publicURL string) (*trust, error) {
	t := &trust{url: strings.TrimRight(publicURL, "/") + "/trust"}
	code, err := qr.Encode(t.url, qr.M)
	if err != nil {
		return nil, fmt.Errorf("web: making the trust page's QR code: %w", err)
	}
	code.Scale = 6
	t.qrPNG = code.PNG()
	t.qrPx = (code.Size + 8) * code.Scale // with the quiet zone PNG draws
	if u, err := url.Parse(t.url); err == nil {
		host := u.Hostname()
		ip := net.ParseIP(host)
		t.local = host == "localhost" || strings.HasSuffix(host, ".localhost") || (ip != nil && ip.IsLoopback())
	}
	return t, nil
}

func (d *Dashboard) trustRoutes() {
	d.handle("GET /trust", d.handleTrust)
	d.handle("GET /trust/qr.png", d.handleTrustQR)
	// The active root at paths that stay the same across rotations, and
	// every root at paths named by its fingerprint.
	d.handle("GET /trust/root.crt", d.rootFile(false, "der"))
	d.handle("GET /trust/root.pem", d.rootFile(false, "pem"))
	d.handle("GET /trust/certmaker.mobileconfig", d.rootFile(false, "mobileconfig"))
	d.handle("GET /trust/{fp}/root.crt", d.rootFile(true, "der"))
	d.handle("GET /trust/{fp}/root.pem", d.rootFile(true, "pem"))
	d.handle("GET /trust/{fp}/certmaker.mobileconfig", d.rootFile(true, "mobileconfig"))
}

// trustRoot is one root as the trust page shows it.
type trustRoot struct {
	Active      bool
	Name        string // common name
	Subject     string
	Fingerprint string // lowercase hex, as URLs hold it
	Colons      string // AB:CD:..., as browsers and phones show it
	NotBefore   time.Time
	NotAfter    time.Time
	DaysLeft    int
	Constraints []string // in words
	Base        string   // path its downloads live under
	File        string   // file name stem for its downloads
	// Revoked are the intermediates revoked under it, which its CRL lists.
	Revoked []inventory.Root
}

type trustData struct {
	URL   string
	QRPx  int
	Local bool
	Roots []trustRoot
}

// handleTrust shows every root, the active one first, and how to install
// it on each platform. A signed-in visitor keeps the navigation.
func (d *Dashboard) handleTrust(w http.ResponseWriter, r *http.Request) {
	v, _ := d.current(w, r)
	now := d.ca.Now()
	active := d.ca.ActiveRoot()
	intermediates, err := d.core.Intermediates(r.Context())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	data := trustData{URL: d.trust.url, QRPx: d.trust.qrPx, Local: d.trust.local}
	for _, root := range slices.Backward(d.ca.Roots()) { // newest first
		tr := describeRoot(root, now)
		for _, in := range intermediates {
			if in.Revoked && in.Parent == root.Fingerprint {
				tr.Revoked = append(tr.Revoked, in)
			}
		}
		if active != nil && root.Fingerprint == active.Fingerprint {
			tr.Active, tr.Base, tr.File = true, "/trust", "certmaker-root"
			data.Roots = slices.Insert(data.Roots, 0, tr)
			continue
		}
		data.Roots = append(data.Roots, tr)
	}
	d.render(w, r, http.StatusOK, "trust", d.view(v, "Trust this CA", "trust", data))
}

func describeRoot(r *ca.Issuer, now time.Time) trustRoot {
	c := r.Cert
	name := c.Subject.CommonName
	if name == "" {
		name = c.Subject.String()
	}
	return trustRoot{
		Name:        name,
		Subject:     c.Subject.String(),
		Fingerprint: r.Fingerprint,
		Colons:      ca.Colons(r.Fingerprint),
		NotBefore:   c.NotBefore,
		NotAfter:    c.NotAfter,
		DaysLeft:    int(c.NotAfter.Sub(now).Hours() / 24),
		Constraints: constraintWords(c),
		Base:        "/trust/" + r.Fingerprint,
		File:        "certmaker-root-" + r.Fingerprint[:min(12, len(r.Fingerprint))],
	}
}

// constraintWords says a root's name constraints as sentences.
func constraintWords(c *x509.Certificate) []string {
	var out []string
	domains := func(ds []string) string {
		words := make([]string, len(ds))
		for i, d := range ds {
			if strings.HasPrefix(d, ".") {
				words[i] = "names below " + d[1:]
			} else {
				words[i] = d + " and names below it"
			}
		}
		return strings.Join(words, "; ")
	}
	ranges := func(ns []*net.IPNet) string {
		words := make([]string, len(ns))
		for i, n := range ns {
			words[i] = n.String()
		}
		return strings.Join(words, ", ")
	}
	if len(c.PermittedDNSDomains) > 0 {
		out = append(out, "Only for DNS names (and email domains): "+domains(c.PermittedDNSDomains)+".")
	}
	if len(c.ExcludedDNSDomains) > 0 {
		out = append(out, "Never for DNS names: "+domains(c.ExcludedDNSDomains)+".")
	}
	if len(c.PermittedIPRanges) > 0 {
		out = append(out, "Only for IP addresses in "+ranges(c.PermittedIPRanges)+".")
	}
	if len(c.ExcludedIPRanges) > 0 {
		out = append(out, "Never for IP addresses in "+ranges(c.ExcludedIPRanges)+".")
	}
	if len(c.PermittedEmailAddresses) > 0 {
		out = append(out, "Only for email addresses at "+strings.Join(c.PermittedEmailAddresses, ", ")+".")
	}
	switch {
	case len(out) == 0:
		out = append(out, "No name constraints: a device that trusts this root accepts it for any name, so its key must never leak.")
	case len(c.PermittedDNSDomains) > 0 && len(c.PermittedIPRanges) == 0 && len(c.ExcludedIPRanges) == 0:
		out = append(out, "IP addresses are not constrained.")
	}
	return out
}

func (d *Dashboard) handleTrustQR(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(d.trust.qrPNG)))
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(d.trust.qrPNG)
}

// rootFile serves a root as DER, PEM or an Apple configuration profile:
// the one the path's fingerprint names, or the active one.
func (d *Dashboard) rootFile(byFingerprint bool, form string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		root, file := d.ca.ActiveRoot(), "certmaker-root"
		if byFingerprint {
			want := strings.ToLower(r.PathValue("fp"))
			if root = d.ca.Root(want); root != nil {
				file = describeRoot(root, time.Time{}).File
			}
		}
		if root == nil {
			d.renderError(w, r, nil, http.StatusNotFound, "There is no root CA with this fingerprint here; the trust page lists every one.")
			return
		}
		var body []byte
		var ctype string
		switch form {
		case "der":
			// Android and Windows install DER from a .crt file.
			body, ctype, file = root.Cert.Raw, "application/x-x509-ca-cert", file+".crt"
		case "pem":
			body, ctype, file = ca.CertPEM(root.Cert.Raw), "application/x-pem-file", file+".pem"
		case "mobileconfig":
			body, ctype = mobileconfig(root), "application/x-apple-aspen-config"
			file = strings.Replace(file, "certmaker-root", "certmaker", 1) + ".mobileconfig"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
}
