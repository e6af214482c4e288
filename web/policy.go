package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/storage"
)

// policyView is a user's policy as the request page and the users pages
// show it: each part in words.
type policyView struct {
	Allow     []string
	Deny      []string
	MaxDays   int
	OwnMax    bool // the maximum is the policy's, not the CA's
	KeyTypes  []string
	Challenge string // required, optional, or "" for the CA's
	Prove     bool   // whether the user must prove names now
	Summary   string
}

func newPolicyView(info core.PolicyInfo) policyView {
	p := info.Policy
	return policyView{
		Allow: p.Allow, Deny: p.Deny, MaxDays: info.MaxDays, OwnMax: p.MaxDays > 0,
		KeyTypes: p.KeyTypes, Challenge: p.Challenge, Prove: info.ChallengeRequired,
		Summary: core.PolicySummary(p),
	}
}

// policyRefusal is a refusal by the user's policy in the request form's
// words: a sentence, and each refused name with why.
func policyRefusal(err error) (string, []badName, bool) {
	var pe *core.PolicyError
	if !errors.As(err, &pe) {
		return "", nil, false
	}
	var names []badName
	for i, n := range pe.Refused {
		why := "is not among the names your policy allows"
		if pe.Denied[i] != "" {
			why = "is denied by your policy (" + pe.Denied[i] + ")"
		}
		names = append(names, badName{Name: n, Problem: why})
	}
	var msg string
	switch {
	case len(names) == 1:
		msg = "Your policy does not allow this name:"
	case len(names) > 1:
		msg = "Your policy does not allow these " + strconv.Itoa(len(names)) + " names:"
	case pe.KeyType != "":
		msg = "Your policy does not allow keys of type " + pe.KeyType + "."
	default:
		msg = plain(err)
	}
	return msg, names, true
}

// policyFormData is the form that edits a user's policy, and its
// confirmation: the user, the values typed (rules one per line), the
// policy before and, once checked, after.
type policyFormData struct {
	User      string
	Allow     string
	Deny      string
	MaxDays   string
	KeyTypes  []keyTypeOption
	Challenge string // "default", required, optional
	CARequire bool
	CAMaxDays int
	Error     string
	Field     string
	Before    policyView
	After     policyView
	Lowers    bool // the change lets the user skip a proof the CA requires
}

type keyTypeOption struct {
	Name    string
	Checked bool
}

func keyTypeOptions(checked []string) []keyTypeOption {
	var out []keyTypeOption
	for _, kt := range ca.KeyTypes() {
		out = append(out, keyTypeOption{Name: string(kt), Checked: slices.Contains(checked, string(kt))})
	}
	return out
}

// handlePolicyForm shows a user's policy in a form an admin can change.
func (d *Dashboard) handlePolicyForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	name := r.PathValue("name")
	info, err := d.core.UserPolicy(r.Context(), v.actor(), name)
	if core.KindOf(err) == core.NotFound {
		d.noUser(w, r, v, name)
		return
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	p := info.Policy
	fd := policyFormData{
		User: name, Allow: strings.Join(p.Allow, "\n"), Deny: strings.Join(p.Deny, "\n"),
		KeyTypes: keyTypeOptions(p.KeyTypes), Challenge: challengeValue(p.Challenge),
	}
	if p.MaxDays > 0 {
		fd.MaxDays = strconv.Itoa(p.MaxDays)
	}
	d.renderPolicyForm(w, r, v, http.StatusOK, fd, info)
}

func challengeValue(c string) string {
	if c == core.ChallengeDefault {
		return "default"
	}
	return c
}

func (d *Dashboard) renderPolicyForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, fd policyFormData, before core.PolicyInfo) {
	fd.Before = newPolicyView(before)
	fd.CARequire = d.core.ChallengeRequired()
	fd.CAMaxDays = d.ca.Days(1<<31 - 1)
	title := "Policy of " + fd.User
	if fd.Error != "" {
		title = "Error: " + title
	}
	d.render(w, r, status, "policy", d.view(v, title, "admin", fd))
}

// handlePolicy checks the policy typed into the form and shows it for
// confirmation; the confirmation (confirm=yes) sets it. Nothing changes
// before that second step.
func (d *Dashboard) handlePolicy(w http.ResponseWriter, r *http.Request, v *viewer) {
	name := r.PathValue("name")
	f := r.PostForm
	fd := policyFormData{
		User: name, Allow: f.Get("allow"), Deny: f.Get("deny"), MaxDays: strings.TrimSpace(f.Get("max_days")),
		KeyTypes: keyTypeOptions(f["key_types"]), Challenge: f.Get("challenge"),
	}
	pc, field, msg := policyFromForm(fd)
	before, after, err := d.core.PreviewPolicy(r.Context(), v.actor(), name, pc)
	switch k := core.KindOf(err); {
	case k == core.NotFound:
		d.noUser(w, r, v, name)
		return
	case msg == "" && k == core.Invalid:
		field, msg = invalidField(pc), plain(err)
	case msg == "" && err != nil:
		d.fail(w, r, v, err)
		return
	}
	if msg != "" {
		fd.Error, fd.Field = msg, field
		d.renderPolicyForm(w, r, v, http.StatusBadRequest, fd, before)
		return
	}
	if f.Get("confirm") != "yes" {
		fd.Before, fd.After, fd.Lowers = newPolicyView(before), newPolicyView(after), after.SkipsRequiredChallenge
		// What the confirmation sends back: the checked policy.
		fd.MaxDays, fd.Challenge = "", challengeValue(after.Policy.Challenge)
		if after.Policy.MaxDays > 0 {
			fd.MaxDays = strconv.Itoa(after.Policy.MaxDays)
		}
		d.render(w, r, http.StatusOK, "policyconfirm", d.view(v, "Change the policy of "+name+"?", "admin", fd))
		return
	}
	_, err = d.core.SetPolicy(r.Context(), v.actor(), name, pc)
	switch core.KindOf(err) {
	case "":
	case core.NotFound:
		d.noUser(w, r, v, name)
		return
	case core.Invalid:
		fd.Error, fd.Field = plain(err), invalidField(pc)
		d.renderPolicyForm(w, r, v, http.StatusBadRequest, fd, before)
		return
	default:
		d.fail(w, r, v, err)
		return
	}
	d.sessions.setFlash(v.sess.id, "The policy of "+name+" is changed; it applies from their next request.")
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

// policyFromForm turns the form into the whole policy it describes (a
// change that clears, then sets every part), or the field and sentence
// that are wrong.
func policyFromForm(fd policyFormData) (core.PolicyChange, string, string) {
	allow, deny := splitNames(fd.Allow), splitNames(fd.Deny)
	if allow == nil {
		allow = []string{}
	}
	if deny == nil {
		deny = []string{}
	}
	maxDays := 0
	if fd.MaxDays != "" {
		n, err := strconv.Atoi(fd.MaxDays)
		if err != nil || n < 0 {
			return core.PolicyChange{}, "max_days", "Maximum days must be a whole number, or empty for the CA's maximum."
		}
		maxDays = n
	}
	kts := []string{}
	for _, o := range fd.KeyTypes {
		if o.Checked {
			kts = append(kts, o.Name)
		}
	}
	challenge := fd.Challenge
	switch challenge {
	case "default", core.ChallengeRequired, core.ChallengeOptional:
	default:
		return core.PolicyChange{}, "challenge", "Choose whether this user must prove names."
	}
	return core.PolicyChange{Clear: true, Allow: &allow, Deny: &deny, MaxDays: &maxDays, KeyTypes: &kts, Challenge: &challenge}, "", ""
}

// invalidField is the field of a refused policy to point at: a list with
// a rule the core refuses, else the maximum days (which the CA's bounds
// may refuse).
func invalidField(pc core.PolicyChange) string {
	if _, err := core.NormalizePolicy(storage.Policy{Allow: *pc.Allow}); err != nil {
		return "allow"
	}
	if _, err := core.NormalizePolicy(storage.Policy{Deny: *pc.Deny}); err != nil {
		return "deny"
	}
	return "max_days"
}
