package web

import (
	"net/http"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/inventory"
)

// reasons are the RFC 5280 reasons certmaker revokes for (ca.ParseReason
// has the final word), with what each means to a person.
var reasons = []option{
	{"unspecified", "No particular reason"},
	{"keyCompromise", "The private key was exposed (keyCompromise)"},
	{"superseded", "Replaced by a new certificate (superseded)"},
	{"cessationOfOperation", "The service is gone (cessationOfOperation)"},
	{"affiliationChanged", "The name or owner changed (affiliationChanged)"},
	{"privilegeWithdrawn", "Its use is no longer allowed (privilegeWithdrawn)"},
}

type revokeData struct {
	certView
	Reasons []option
}

// handleRevokeForm is the confirmation step: what will be revoked, why,
// and that it cannot be undone.
func (d *Dashboard) handleRevokeForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	c, ok := d.certificate(w, r, v)
	if !ok {
		return
	}
	if c.Revoked {
		d.sessions.setFlash(v.sess.id, "This certificate is already revoked.")
		http.Redirect(w, r, "/certificates/"+c.Serial.String(), http.StatusSeeOther)
		return
	}
	desc, err := inventory.Describe(c, d.ca, d.ca.Now())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	data := revokeData{certView: describe(desc, d.ca.Now()), Reasons: reasons}
	d.render(w, r, http.StatusOK, "revoke", d.view(v, "Revoke "+firstName(desc), "certificates", data))
}

func (d *Dashboard) handleRevoke(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	code, err := ca.ParseReason(r.PostForm.Get("reason"))
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	serial, err := ca.ParseSerial(id)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	c, err := d.core.Revoke(r.Context(), v.actor(), core.Revocation{Serial: serial, Reason: code})
	switch core.KindOf(err) {
	case core.Revoked:
		d.sessions.setFlash(v.sess.id, "This certificate was already revoked.")
	case core.NotFound:
		d.renderError(w, r, v, http.StatusNotFound, "There is no certificate "+clip(id)+" for you here.")
		return
	case "":
		d.sessions.setFlash(v.sess.id, "Certificate revoked ("+ca.ReasonName(c.Reason)+"). OCSP and the CRL say so from now on.")
	default:
		d.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/certificates/"+id, http.StatusSeeOther)
}
