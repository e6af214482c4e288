package web

import (
	"errors"
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
	port, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("port")))
	if err != nil || port < 1 || port > 65535 {
		d.renderChallenge(w, r, v, http.StatusBadRequest, ch, d.core.ChallengePort(), "The port must be a number from 1 to 65535.")
		return
	}
	solved, err := d.core.SolveChallenge(r.Context(), v.actor(), ch.ID, port)
	var chErr *challenge.Error
	switch k := core.KindOf(err); {
	case errors.As(err, &chErr):
		d.renderChallenge(w, r, v, statusOf(err), ch, port, "The check failed: "+chErr.Error()+". Fix it and check again.")
		return
	case k == core.Invalid:
		d.renderChallenge(w, r, v, statusOf(err), ch, port, err.Error())
		return
	case err != nil:
		d.fail(w, r, v, err)
		return
	}
	d.sessions.setFlash(v.sess.id, "Every name answered with the token; the certificate is issued.")
	http.Redirect(w, r, "/certificates/"+solved.Serial.String(), http.StatusSeeOther)
}

func (d *Dashboard) renderChallenge(w http.ResponseWriter, r *http.Request, v *viewer, status int, ch core.Pending, port int, msg string) {
	names := ch.Names
	data := challengeData{
		ID: ch.ID, Token: ch.Token, Port: port, Expires: ch.Expires, Error: msg,
		Path: challenge.WellKnownPath,
		Dir:  strings.TrimPrefix(strings.TrimSuffix(challenge.WellKnownPath, "/token.txt"), "/"),
	}
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
	d.render(w, r, status, "challenge", d.view(v, "Prove your names", "request", data))
}
