package web

import (
	"net/http"
	"strings"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/inventory"
)

type statusData struct {
	inventory.Summary
	Active   inventory.Root
	Timeline *timeline
	// RootKey says where the active root's key is; RootCRLWarning, if
	// set, that its CRL ends soon and only the offline key can sign anew.
	RootKey        string
	RootCRLWarning string
}

// rootKeyWords says where the active root's key is, and words the core's
// warning (inventory.Warnings) when its CRL ends soon while only the
// offline key could sign the next one.
func rootKeyWords(r inventory.Root, sum inventory.Summary) (where, warning string) {
	switch {
	case r.OneTier:
		return "online: a one-tier root that signs certificates itself (rotate-root makes a two-tier CA whose root can go offline)", ""
	case r.KeyOnline:
		return "online, in the database (certmaker root offline keeps it in a file instead)", ""
	}
	where = "offline, kept in a file (certmaker root offline)"
	if _, ok := sum.Warning(inventory.RootCRLMissing); ok {
		return where, "The root has no CRL: sign one with certmaker root crl --root-key FILE."
	}
	switch x, ok := sum.Warning(inventory.RootCRLExpires); {
	case ok && x.Ended:
		warning = "The root's CRL expired on " + x.At.UTC().Format("2006-01-02") + ": sign a new one with certmaker root crl --root-key FILE."
	case ok:
		warning = "The root's CRL expires on " + x.At.UTC().Format("2006-01-02") + ": sign the next one with certmaker root crl --root-key FILE before then."
	}
	return where, warning
}

// handleStatus is `certmaker status` as a page.
func (d *Dashboard) handleStatus(w http.ResponseWriter, r *http.Request, v *viewer) {
	sum, err := d.core.Status(r.Context(), v.actor())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	data := statusData{Summary: sum}
	data.Active, _ = sum.ActiveRoot()
	data.RootKey, data.RootCRLWarning = rootKeyWords(data.Active, sum)
	if data.Timeline, err = d.timeline(r.Context(), v, "", "*", d.ca.Now()); err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.render(w, r, http.StatusOK, "status", d.view(v, "Status", "admin", data))
}

type usersData struct {
	Users    []core.UserInfo
	Self     string
	NewName  string
	NewAdmin bool
	NewToken string // shown once, right after creating the user
	Error    string
}

func (d *Dashboard) handleUsers(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.renderUsers(w, r, v, http.StatusOK, usersData{})
}

func (d *Dashboard) renderUsers(w http.ResponseWriter, r *http.Request, v *viewer, status int, data usersData) {
	users, err := d.core.Users(r.Context(), v.actor())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	data.Users, data.Self = users, v.user.Name
	d.render(w, r, status, "users", d.view(v, "Users", "admin", data))
}

// handleAddUser creates a user and shows its token on this one answer
// (never stored, never in a URL); the page is not cached.
func (d *Dashboard) handleAddUser(w http.ResponseWriter, r *http.Request, v *viewer) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	isAdmin := r.PostForm.Get("admin") == "on"
	token, err := d.core.AddUser(r.Context(), v.actor(), name, isAdmin)
	switch core.KindOf(err) {
	case core.Invalid:
		d.renderUsers(w, r, v, http.StatusBadRequest, usersData{NewName: name, NewAdmin: isAdmin, Error: plain(err)})
		return
	case core.Exists:
		d.renderUsers(w, r, v, http.StatusConflict, usersData{NewName: name, NewAdmin: isAdmin, Error: "A user named " + name + " already exists."})
		return
	case "":
	default:
		d.fail(w, r, v, err)
		return
	}
	d.renderUsers(w, r, v, http.StatusOK, usersData{NewName: name, NewToken: token})
}

type disableData struct {
	User core.UserInfo
}

// handleDisableForm is the confirmation step: disabling signs the user out
// everywhere and stops their token and ACME accounts at once.
func (d *Dashboard) handleDisableForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	name := r.PathValue("name")
	users, err := d.core.Users(r.Context(), v.actor())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	for _, u := range users {
		if u.Name != name {
			continue
		}
		if u.Disabled || u.Name == v.user.Name {
			http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
			return
		}
		d.render(w, r, http.StatusOK, "disable", d.view(v, "Disable "+name, "admin", disableData{User: u}))
		return
	}
	d.noUser(w, r, v, name)
}

func (d *Dashboard) handleDisable(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.setDisabled(w, r, v, true)
}

func (d *Dashboard) handleEnable(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.setDisabled(w, r, v, false)
}

// setDisabled takes effect on the user's next request, in the API and in
// every dashboard session they have.
func (d *Dashboard) setDisabled(w http.ResponseWriter, r *http.Request, v *viewer, disabled bool) {
	name := r.PathValue("name")
	err := d.core.SetDisabled(r.Context(), v.actor(), name, disabled)
	switch core.KindOf(err) {
	case "":
	case core.NotFound:
		d.noUser(w, r, v, name)
		return
	case core.Invalid:
		// Refused for what it asks (disabling oneself): the core says why.
		d.sessions.setFlash(v.sess.id, plain(err))
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
		return
	default:
		d.fail(w, r, v, err)
		return
	}
	verb := "enabled"
	if disabled {
		verb = "disabled"
	}
	d.sessions.setFlash(v.sess.id, "User "+name+" "+verb+".")
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

type rotateData struct {
	Active inventory.Root
}

// handleRotateForm is the confirmation step before a new root.
func (d *Dashboard) handleRotateForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	roots, err := d.core.Status(r.Context(), v.actor())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	active, _ := roots.ActiveRoot()
	d.render(w, r, http.StatusOK, "rotate", d.view(v, "Rotate the root", "admin", rotateData{Active: active}))
}

func (d *Dashboard) handleRotate(w http.ResponseWriter, r *http.Request, v *viewer) {
	root, err := d.core.RotateRoot(r.Context(), v.actor())
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.sessions.setFlash(v.sess.id, "A new root is active: "+ca.Colons(root.Fingerprint)+". Distribute it before certificates from it must be trusted.")
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

// noUser is the page for a user name no user has.
func (d *Dashboard) noUser(w http.ResponseWriter, r *http.Request, v *viewer, name string) {
	d.renderError(w, r, v, http.StatusNotFound, "There is no user "+clip(name)+".")
}
