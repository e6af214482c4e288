package web

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"certmaker/ca"
	"certmaker/core"
)

type requestData struct {
	Names     string
	Days      string
	KeyType   string
	KeyTypes  []ca.KeyType
	Challenge bool
	MinDays   int
	MaxDays   int
	Default   int
	// Policy is what the user may ask for (their issuance policy).
	Policy policyView
	// Error says what is wrong with the form, Field which field it is
	// about (it gets the focus): names, days, key_type, csr, csr_days.
	Error    string
	Field    string
	BadNames []badName // every name that cannot be used, in the order typed
	CSR      string    // a pasted CSR, shown again after an error
	CSRDays  string
	// Proof is how the names are to be proven: "http" or "dns".
	Proof string
}

// proofChoice is one form's choice of proof, for the "proof" template:
// the radio buttons' id prefix (each form needs its own), the value
// chosen, and whether the choice was refused.
type proofChoice struct {
	ID      string
	Value   string
	Invalid bool
}

// ProofChoice is the form with id's choice of proof.
func (rd requestData) ProofChoice(id string) proofChoice {
	return proofChoice{ID: id, Value: rd.Proof, Invalid: rd.Field == "challenge"}
}

// requestForm fills in what the form offers the user: their policy, the
// key types it allows (its first is preselected when the CA's default is
// not among them), the validity it allows, and whether a proof follows.
func (d *Dashboard) requestForm(r *http.Request, v *viewer, rd requestData) (requestData, error) {
	info, err := d.core.UserPolicy(r.Context(), v.actor(), v.user.Name)
	if err != nil {
		return rd, err
	}
	rd.Policy = newPolicyView(info)
	rd.KeyTypes = ca.KeyTypes()
	if kts := info.Policy.KeyTypes; len(kts) > 0 {
		rd.KeyTypes = rd.KeyTypes[:0]
		for _, kt := range kts {
			rd.KeyTypes = append(rd.KeyTypes, ca.KeyType(kt))
		}
	}
	if rd.KeyType == "" {
		rd.KeyType = string(ca.DefaultKeyType)
		if !slices.Contains(rd.KeyTypes, ca.DefaultKeyType) {
			rd.KeyType = string(rd.KeyTypes[0])
		}
	}
	if rd.Proof == "" {
		rd.Proof = string(core.ProofHTTP)
	}
	rd.Challenge = info.ChallengeRequired
	rd.MinDays = d.ca.Days(-1 << 31)
	rd.MaxDays = info.MaxDays
	rd.Default = min(d.ca.Days(0), info.MaxDays)
	return rd, nil
}

func (d *Dashboard) handleRequestForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.renderRequest(w, r, v, http.StatusOK, requestData{})
}

// renderRequest shows the form again with what was typed; with an error
// the page's title says so first, as a screen reader announces it.
func (d *Dashboard) renderRequest(w http.ResponseWriter, r *http.Request, v *viewer, status int, rd requestData) {
	title := "Request a certificate"
	if rd.Error != "" {
		title = "Error: " + title
	}
	rd, err := d.requestForm(r, v, rd)
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.render(w, r, status, "request", d.view(v, title, "request", rd))
}

// handleRequest issues a certificate with a key the server makes, or from
// a CSR; with challenges on it opens a challenge and shows how to prove
// the names.
func (d *Dashboard) handleRequest(w http.ResponseWriter, r *http.Request, v *viewer) {
	if r.PostForm.Get("mode") == "csr" {
		d.handleRequestCSR(w, r, v)
		return
	}
	f := r.PostForm
	rd := requestData{Names: f.Get("names"), Days: strings.TrimSpace(f.Get("days")), KeyType: f.Get("key_type"), Proof: f.Get("challenge")}
	refuse := func(rd requestData) { d.renderRequest(w, r, v, http.StatusBadRequest, rd) }
	proof, err := core.ParseProof(rd.Proof)
	if err != nil {
		rd.Error, rd.Field, rd.Proof = "Choose how to prove the names: HTTP or DNS.", "challenge", ""
		refuse(rd)
		return
	}
	req, keyType, fe := parseRequest(rd.Names, rd.Days, rd.KeyType)
	if fe != nil {
		rd.Error, rd.Field, rd.BadNames = fe.msg, fe.field, fe.names
		refuse(rd)
		return
	}
	d.request(w, r, v, core.CertificateRequest{Request: req, KeyType: keyType, Proof: proof}, "Certificate issued.", func(status int, err error) {
		rd.Error, rd.Field = plain(err), "names"
		if msg, names, ok := policyRefusal(err); ok {
			rd.Error, rd.BadNames = msg, names
			if len(names) == 0 {
				rd.Field = "key_type"
			}
		}
		d.renderRequest(w, r, v, status, rd)
	})
}

// request asks the core for the certificate: issued now, the certificate's
// page says so (flash); waiting for proof, the challenge's page shows how;
// refused for what it asks (or too many pending), refuse shows the form
// again with why, answered with status.
func (d *Dashboard) request(w http.ResponseWriter, r *http.Request, v *viewer, cr core.CertificateRequest, flash string, refuse func(status int, err error)) {
	res, err := d.core.Request(r.Context(), v.actor(), cr)
	status, inform := inForm(err)
	switch {
	case inform:
		refuse(status, err)
	case err != nil:
		d.fail(w, r, v, err)
	case res.Challenge != nil:
		http.Redirect(w, r, "/challenges/"+res.Challenge.ID, http.StatusSeeOther)
	default:
		d.sessions.setFlash(v.sess.id, flash)
		http.Redirect(w, r, "/certificates/"+res.Certificate.Serial.String(), http.StatusSeeOther)
	}
}

// handleRequestCSR issues exactly as the API's request-with-csr does: the
// names and key are the CSR's, the days the form's.
func (d *Dashboard) handleRequestCSR(w http.ResponseWriter, r *http.Request, v *viewer) {
	pasted := strings.TrimSpace(r.PostForm.Get("csr"))
	rd := requestData{CSR: pasted, CSRDays: strings.TrimSpace(r.PostForm.Get("days")), Proof: r.PostForm.Get("challenge")}
	refuse := func(field, msg string) {
		rd.Error, rd.Field = msg, field
		d.renderRequest(w, r, v, http.StatusBadRequest, rd)
	}
	proof, err := core.ParseProof(rd.Proof)
	if err != nil {
		rd.Proof = ""
		refuse("csr", "Choose how to prove the names: HTTP or DNS.")
		return
	}
	file, err := csrFile(r)
	if err != nil {
		refuse("csr", err.Error())
		return
	}
	var body []byte
	switch {
	case pasted != "" && len(file) > 0:
		refuse("csr", "Paste a CSR or choose its file, not both.")
		return
	case pasted != "":
		body = []byte(pasted)
	case len(file) > 0:
		body = file
	default:
		refuse("csr", "Paste a CSR or choose its file.")
		return
	}
	days := 0
	if rd.CSRDays != "" {
		if days, err = strconv.Atoi(rd.CSRDays); err != nil {
			refuse("csr_days", "Days must be a whole number.")
			return
		}
	}
	csr, req, err := core.CSRRequest(body, days)
	if isInvalid(err) {
		refuse("csr", plain(err))
		return
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.request(w, r, v, core.CertificateRequest{Request: req, CSR: csr, Proof: proof}, "Certificate issued for the key in your CSR.", func(status int, err error) {
		rd.Error, rd.Field = plain(err), "csr"
		if msg, names, ok := policyRefusal(err); ok {
			rd.Error, rd.BadNames = msg, names
		}
		d.renderRequest(w, r, v, status, rd)
	})
}

// csrFile is the uploaded CSR file, or nil when none was chosen. The form
// body is bounded (maxForm), and so is what is read here.
func csrFile(r *http.Request) ([]byte, error) {
	if r.MultipartForm == nil || len(r.MultipartForm.File["csr_file"]) == 0 {
		return nil, nil
	}
	fh := r.MultipartForm.File["csr_file"][0]
	if fh.Size == 0 {
		return nil, nil // a file input left empty still sends a part
	}
	f, err := fh.Open()
	if err != nil {
		return nil, errPlain("The CSR file could not be read.")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, ca.MaxCSRSize+1))
	if err != nil || len(b) > ca.MaxCSRSize {
		return nil, errPlain("The CSR file could not be read, or is larger than 64 KiB.")
	}
	return b, nil
}

type errPlain string

func (e errPlain) Error() string { return string(e) }

// isInvalid reports errors that are the request's fault, to show on the
// form rather than as a server failure.
func isInvalid(err error) bool { return core.KindOf(err) == core.Invalid }

// inForm reports whether err is for the requester to act on in the form
// (a value refused, by the CA or the user's policy, or too many challenges
// pending), with the status of
// the page that shows the form again.
func inForm(err error) (int, bool) {
	switch k := core.KindOf(err); k {
	case core.Invalid, core.TooMany, core.PolicyDenied:
		return statuses[k], true
	}
	return 0, false
}

// plain turns an error of the core's calls into a sentence for a person:
// what is wrong (core.Detail, without the API's "invalid request:"),
// capitalized, ending with a period.
func plain(err error) string {
	s := core.Detail(err)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
