package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/inventory"
	"certmaker/storage"
)

type detailsData struct {
	certView
	PEM         string
	KeyLink     bool // the viewer owns it and the server holds its key
	Owned       bool
	IssuerKnown bool // the issuing root is loaded, for its download
	Revocable   bool
}

// certificate reads certificate id under the core's owner rule (admins
// see all); it renders 404 for ids that are malformed, unknown or someone
// else's.
func (d *Dashboard) certificate(w http.ResponseWriter, r *http.Request, v *viewer) (storage.Certificate, bool) {
	id := r.PathValue("id")
	var c storage.Certificate
	serial, err := ca.ParseSerial(id)
	if err == nil {
		c, err = d.core.Certificate(r.Context(), v.actor(), serial)
	}
	if k := core.KindOf(err); k == core.NotFound || k == core.Invalid {
		d.renderError(w, r, v, http.StatusNotFound, "There is no certificate "+clip(id)+" for you here.")
		return c, false
	}
	if err != nil {
		d.fail(w, r, v, err)
		return c, false
	}
	return c, true
}

func (d *Dashboard) handleDetails(w http.ResponseWriter, r *http.Request, v *viewer) {
	c, ok := d.certificate(w, r, v)
	if !ok {
		return
	}
	desc, err := inventory.Describe(c, d.ca, d.ca.Now())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	cv := describe(desc, d.ca.Now())
	data := detailsData{
		certView:    cv,
		PEM:         string(ca.CertPEM(c.DER)),
		Owned:       c.Owner == v.user.Name,
		KeyLink:     c.Owner == v.user.Name && c.KeyPKCS8 != nil,
		IssuerKnown: d.ca.Issuer(c.Root) != nil,
		Revocable:   !c.Revoked,
	}
	d.render(w, r, http.StatusOK, "certificate", d.view(v, firstName(desc), "certificates", data))
}

func (d *Dashboard) handleCertPEM(w http.ResponseWriter, r *http.Request, v *viewer) {
	c, ok := d.certificate(w, r, v)
	if !ok {
		return
	}
	// With its intermediate, as a server installs it.
	download(w, fileBase(c)+".crt", d.core.ChainPEM(&c))
}

// handleKeyPEM gives the private key to its owner only, as the API does.
func (d *Dashboard) handleKeyPEM(w http.ResponseWriter, r *http.Request, v *viewer) {
	c, ok := d.certificate(w, r, v)
	if !ok {
		return
	}
	key, err := d.core.PrivateKeyPEM(r.Context(), v.actor(), c.Serial)
	if core.KindOf(err) == core.NotFound {
		d.renderError(w, r, v, http.StatusNotFound, "There is no private key of this certificate for you: only its owner may have it, and the server never had the key of a certificate requested with a CSR.")
		return
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	download(w, fileBase(c)+".key", key)
}

// handleIssuerPEM serves the root a certificate chains to (through its
// intermediate), which after a rotation is not the active one.
func (d *Dashboard) handleIssuerPEM(w http.ResponseWriter, r *http.Request, v *viewer) {
	c, ok := d.certificate(w, r, v)
	if !ok {
		return
	}
	iss := d.ca.Issuer(c.Root)
	if iss == nil {
		d.renderError(w, r, v, http.StatusNotFound, "The root that issued this certificate is not loaded.")
		return
	}
	root := iss.Anchor()
	download(w, "certmaker-root-"+root.Fingerprint[:min(12, len(root.Fingerprint))]+".crt", ca.CertPEM(root.Cert.Raw))
}

func (d *Dashboard) handleRootPEM(w http.ResponseWriter, r *http.Request, v *viewer) {
	root := d.ca.ActiveRoot()
	if root == nil {
		d.fail(w, r, v, errors.New("no active root"))
		return
	}
	download(w, "certmaker-root.crt", ca.CertPEM(root.Cert.Raw))
}

func download(w http.ResponseWriter, filename string, b []byte) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// fileBase names downloads after the certificate's first name, in
// characters every file system takes.
func fileBase(c storage.Certificate) string {
	if len(c.Names) > 0 {
		n := strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
				return r
			case r == '*':
				return -1
			}
			return '_'
		}, c.Names[0])
		if n = strings.Trim(n, "._"); n != "" {
			return n
		}
	}
	return c.Serial.String()
}

func firstName(c inventory.Certificate) string {
	if len(c.Names) > 0 {
		return c.Names[0]
	}
	return "Certificate " + c.ID
}

// clip keeps a value from the URL short enough to quote in a message.
func clip(s string) string {
	if len(s) > 48 {
		return strings.ToValidUTF8(s[:48], "") + "..."
	}
	return s
}
