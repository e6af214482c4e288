package web

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	"certmaker/ca"
	"certmaker/core"
)

type requestData struct {
	Names     string
	Days      string
	KeyType   string
	KeyTypes  []ca.KeyType
	Error     string
	Challenge bool
	MinDays   int
	MaxDays   int
	Default   int
}

func (d *Dashboard) requestForm(names, days, kt, msg string) requestData {
	if kt == "" {
		kt = string(ca.DefaultKeyType)
	}
	return requestData{
		Names: names, Days: days, KeyType: kt, KeyTypes: ca.KeyTypes(), Error: msg,
		Challenge: d.core.ChallengeRequired(),
		MinDays:   d.ca.Days(-1 << 31),
		MaxDays:   d.ca.Days(1<<31 - 1),
		Default:   d.ca.Days(0),
	}
}

func (d *Dashboard) handleRequestForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	d.render(w, r, http.StatusOK, "request", d.view(v, "Request a certificate", "request", d.requestForm("", "", "", "")))
}

// handleRequest issues a certificate with a key the server makes, or, with
// challenges on, opens a challenge and shows how to prove the names.
func (d *Dashboard) handleRequest(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := r.PostForm
	names, days, kt := f.Get("names"), strings.TrimSpace(f.Get("days")), f.Get("key_type")
	refuse := func(msg string) {
		d.render(w, r, http.StatusBadRequest, "request", d.view(v, "Request a certificate", "request", d.requestForm(names, days, kt, msg)))
	}
	req, keyType, msg := parseRequest(names, days, kt)
	if msg != "" {
		refuse(msg)
		return
	}
	if d.core.ChallengeRequired() {
		ch, err := d.core.OpenChallenge(r.Context(), v.actor(), req, keyType)
		if isInvalid(err) {
			refuse(err.Error())
			return
		}
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		http.Redirect(w, r, "/challenges/"+ch.ID, http.StatusSeeOther)
		return
	}
	c, err := d.core.Issue(r.Context(), v.actor(), req, keyType)
	if isInvalid(err) {
		refuse(err.Error())
		return
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	d.sessions.setFlash(v.sess.id, "Certificate issued.")
	http.Redirect(w, r, "/certificates/"+c.Serial.String(), http.StatusSeeOther)
}

// isInvalid reports errors that are the request's fault, to show on the
// form rather than as a server failure.
func isInvalid(err error) bool { return core.KindOf(err) == core.Invalid }

// parseRequest reads the form: names one per line or separated by commas
// or spaces (IP addresses and email addresses are told apart from DNS
// names by their syntax), days (empty is the default) and the key type.
// It returns a normalized request, or a message saying what is wrong.
func parseRequest(names, days, kt string) (*ca.Request, ca.KeyType, string) {
	req := &ca.Request{}
	for _, n := range strings.FieldsFunc(names, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
		switch {
		case strings.Contains(n, "@"):
			req.Emails = append(req.Emails, n)
		default:
			if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(n, "["), "]")); err == nil {
				req.IPs = append(req.IPs, a)
			} else {
				req.DNSNames = append(req.DNSNames, n)
			}
		}
	}
	if len(req.DNSNames)+len(req.IPs)+len(req.Emails) == 0 {
		return nil, "", "Enter at least one name: a DNS name, an IP address or an email address."
	}
	if days != "" {
		n, err := strconv.Atoi(days)
		if err != nil {
			return nil, "", "Days must be a whole number."
		}
		req.Days = n
	}
	keyType, err := ca.ParseKeyType(kt)
	if err != nil {
		return nil, "", err.Error()
	}
	if err := req.Normalize(); err != nil {
		return nil, "", err.Error()
	}
	return req, keyType, ""
}
