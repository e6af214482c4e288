package web

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"certmaker/challenge"
	"certmaker/core"
)

type challengeData struct {
	ID      string
	Token   string
	Port    int
	Targets []challengeTarget
	Exempt  []string // names that are never checked
	Expires time.Time
	Path    string
	Dir     string
	Error   string // why the last check failed
	// Results are the last check's, one per name in the request's order;
	// empty before the first check.
	Results []nameResult
	Failed  int // how many of Results failed
	// DNSProof is a challenge proven with DNS: DNS are the TXT records to
	// publish, instead of the token to serve.
	DNSProof bool
	DNS      []core.DNSRecord
}

// nameResult is one name's line in the table after a check.
type nameResult struct {
	Name   string
	State  string // ok, failed, exempt (a CSS class too)
	Reason string // the checker's reason, for a failed name
	Hint   string // what to do about it, in plain words
}

// challengeTarget is one name to prove and the URL it is fetched from.
type challengeTarget struct {
	Name string
	Host string // the URL's host: IPv6 in brackets
	URL  string
}

// pendingChallenge reads one of the viewer's challenges under the core's
// rules: someone else's is as invisible as a missing one.
func (d *Dashboard) pendingChallenge(w http.ResponseWriter, r *http.Request, v *viewer) (core.Pending, bool) {
	id := r.PathValue("id")
	ch, err := d.core.Challenge(r.Context(), v.actor(), id)
	switch core.KindOf(err) {
	case "":
	case core.NotFound:
		d.renderError(w, r, v, http.StatusNotFound, "There is no challenge "+clip(id)+" for you here.")
		return ch, false
	case core.Expired:
		d.renderError(w, r, v, http.StatusGone, "This challenge expired at "+ch.Expires.UTC().Format("2006-01-02 15:04 UTC")+". Request the certificate again.")
		return ch, false
	default:
		d.fail(w, r, v, err)
		return ch, false
	}
	if ch.Serial != nil {
		// Solved: the certificate is what there is to see now.
		http.Redirect(w, r, "/certificates/"+ch.Serial.String(), http.StatusSeeOther)
		return ch, false
	}
	return ch, true
}

func (d *Dashboard) handleChallenge(w http.ResponseWriter, r *http.Request, v *viewer) {
	ch, ok := d.pendingChallenge(w, r, v)
	if !ok {
		return
	}
	d.renderChallenge(w, r, v, http.StatusOK, ch, d.core.ChallengePort(), "")
}

// handleCheck runs the check now: every name must serve the token on
// the port given. Success issues the certificate; a failure is shown
// with its reason, and can be tried again.
func (d *Dashboard) handleCheck(w http.ResponseWriter, r *http.Request, v *viewer) {
	ch, ok := d.pendingChallenge(w, r, v)
	if !ok {
		return
	}
	if ch.Proof == string(core.ProofDNS) {
		// A DNS proof has no port; the form has none.
		d.check(w, r, v, ch, d.core.ChallengePort())
		return
	}
	port, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("port")))
	if err != nil {
		d.renderChallenge(w, r, v, http.StatusBadRequest, ch, d.core.ChallengePort(), "The port must be a number.")
		return
	}
	if err := d.core.CheckPort(port); err != nil {
		// The checker's rule: 1..65535, and the ports it may fetch from.
		d.renderChallenge(w, r, v, statusOf(err), ch, d.core.ChallengePort(), plain(err))
		return
	}
	d.check(w, r, v, ch, port)
}

// check runs the check of every name and shows the outcome.
func (d *Dashboard) check(w http.ResponseWriter, r *http.Request, v *viewer, ch core.Pending, port int) {
	solved, results, err := d.core.CheckChallenge(r.Context(), v.actor(), ch.ID, port)
	switch k := core.KindOf(err); {
	case results.FailedCount() > 0:
		// Each name's outcome is the answer; the table says which failed.
		d.renderChallenge(w, r, v, statusOf(err), ch, port, "", results...)
		return
	case k == core.Invalid:
		d.renderChallenge(w, r, v, statusOf(err), ch, port, err.Error())
		return
	case err != nil:
		d.fail(w, r, v, err)
		return
	}
	flash := "Every name answered with the token; the certificate is issued."
	if ch.Proof == string(core.ProofDNS) {
		flash = "Every name has its TXT record; the certificate is issued."
	}
	d.sessions.setFlash(v.sess.id, flash)
	http.Redirect(w, r, "/certificates/"+solved.Serial.String(), http.StatusSeeOther)
}

// renderChallenge shows the challenge; msg is an error with the form,
// results the last check's, if it failed.
func (d *Dashboard) renderChallenge(w http.ResponseWriter, r *http.Request, v *viewer, status int, ch core.Pending, port int, msg string, results ...challenge.Result) {
	names := ch.Names
	data := challengeData{
		ID: ch.ID, Token: ch.Token, Port: port, Expires: ch.Expires, Error: msg,
		Path: challenge.WellKnownPath,
		Dir:  strings.TrimPrefix(strings.TrimSuffix(challenge.WellKnownPath, "/token.txt"), "/"),
		DNS:  ch.DNS,
	}
	dnsProof := ch.Proof == string(core.ProofDNS)
	data.DNSProof = dnsProof
	for _, n := range names {
		if challenge.Exempt(n) {
			data.Exempt = append(data.Exempt, n)
			continue
		}
		host := n
		if strings.Contains(n, ":") {
			host = "[" + n + "]"
		}
		data.Targets = append(data.Targets, challengeTarget{
			Name: n, Host: host,
			URL: "http://" + net.JoinHostPort(n, strconv.Itoa(port)) + challenge.WellKnownPath,
		})
	}
	for _, res := range results {
		nr := nameResult{Name: res.Identifier, State: "ok"}
		switch {
		case res.Exempt:
			nr.State = "exempt"
		case res.Err != nil:
			nr.State, nr.Reason, nr.Hint = "failed", res.Err.Reason, reasonHint(res.Err.Code, port, dnsProof)
			data.Failed++
		}
		data.Results = append(data.Results, nr)
	}
	title := "Prove your names"
	if data.Failed > 0 {
		data.Error = "The check failed for " + plural(data.Failed, "name") + " of " + strconv.Itoa(len(data.Results)) +
			". Each name's result is below; fix those that failed and check again."
	}
	if data.Error != "" {
		title = "Error: " + title
	}
	d.render(w, r, status, "challenge", d.view(v, title, "request", data))
}

// reasonHint says in plain words what a failed check usually means and
// what to try; "" when the checker's reason says it all.
func reasonHint(code challenge.Code, port int, dnsProof bool) string {
	if dnsProof {
		switch code {
		case challenge.CodeWrongToken:
			return "A TXT record is there, but not with this value: publish exactly the value above (other TXT records may stay)."
		case challenge.CodeNoRecord:
			return "Publish the TXT record above. A change may take a while to reach the CA's DNS server (its TTL, or a secondary's refresh)."
		case challenge.CodeDNSServer, challenge.CodeTimeout:
			return "The CA's DNS server did not give a usable answer: try again, or ask the CA's operator about [challenge] dns_resolvers."
		}
		return ""
	}
	p := strconv.Itoa(port)
	switch code {
	case challenge.CodeRefused:
		return "Nothing listens on port " + p + " at this address: start the web server, or check the port."
	case challenge.CodeWrongToken:
		return "A web server answered, but not with this token: put exactly the token above in token.txt."
	case challenge.CodeNotFound:
		return "A web server answered, but has no such file: serve the directory above .well-known."
	case challenge.CodeStatus, challenge.CodeRedirect:
		return "A web server answered, but not with the file: it must answer 200 with the token, without redirects."
	case challenge.CodeLookup:
		return "The CA finds no address for this name: add it to your DNS (or to the CA's hosts)."
	case challenge.CodeTimeout, challenge.CodeUnreachable:
		return "The CA gets no answer from this address: is the machine on, and does a firewall let port " + p + " through?"
	case challenge.CodeNotHTTP:
		return "Something on port " + p + " answered, but not a web server: pick the port your web server listens on."
	}
	return ""
}
