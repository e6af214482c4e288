package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"certmaker/core"
	"certmaker/inventory"
)

// certView is a certificate as the pages show it: inventory's description
// plus words for its state, so that nothing depends on colour.
type certView struct {
	inventory.Certificate
	State  string // valid, soon, expired, revoked (a CSS class too)
	Label  string // Valid, Expires soon, Expired, Revoked
	Expiry string // "expires in 5 days", "expired 2 days ago", "revoked ..."
}

// describe words a certificate's state at now. "Soon" is the last third
// of its lifetime, when ACME clients renew, so it means the same for a
// 7-day and a 180-day certificate.
func describe(c inventory.Certificate, now time.Time) certView {
	v := certView{Certificate: c}
	switch c.Status {
	case inventory.StatusRevoked:
		v.State, v.Label, v.Expiry = "revoked", "Revoked", "revoked"
		if c.RevokedAt != nil {
			v.Expiry = "revoked " + c.RevokedAt.UTC().Format("2006-01-02")
		}
	case inventory.StatusExpired:
		v.State, v.Label = "expired", "Expired"
		v.Expiry = "expired " + ago(now.Sub(c.NotAfter))
	default:
		v.State, v.Label = "valid", "Valid"
		left := c.NotAfter.Sub(now)
		if left < c.NotAfter.Sub(c.NotBefore)/3 {
			v.State, v.Label = "soon", "Expires soon"
		}
		v.Expiry = "expires " + in(left)
	}
	return v
}

// in says how long until an end, to the nearest day: a certificate just
// issued for 30 days "expires in 30 days".
func in(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day+day/2:
		return "in " + strconv.Itoa(int((d+day/2)/day)) + " days"
	case d >= day:
		return "in 1 day"
	case d >= 2*time.Hour:
		return "in " + strconv.Itoa(int(d/time.Hour)) + " hours"
	default:
		return "within 2 hours"
	}
}

// since says how long ago something happened, to the minute: a pending
// request lives for hours, not days.
func since(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return ago(d)
}

func ago(d time.Duration) string {
	switch days := int(d / (24 * time.Hour)); {
	case days >= 2:
		return strconv.Itoa(days) + " days ago"
	case days == 1:
		return "1 day ago"
	default:
		return "today"
	}
}

// Listing bounds: a page shows pageSize matches; a search looks at no
// more than maxScan certificates per page before it offers to go on.
const (
	pageSize = 50
	maxScan  = 5000
)

type option struct {
	Value, Label string
}

var statusOptions = []option{
	{"", "Any status"},
	{"valid", "Valid (incl. expiring soon)"},
	{"soon", "Expiring soon"},
	{"expired", "Expired"},
	{"revoked", "Revoked"},
}

type listData struct {
	Heading   string
	Certs     []certView
	Q         string
	Status    string
	Statuses  []option
	Owner     string   // "" mine, "*" everyone, else a user's name
	Owners    []option // admins only
	ShowOwner bool
	Filtered  bool
	Cursor    string
	Next      string // URL of the next page, if any
	First     string // URL of the first page with these filters
	Clear     string // URL without the filters
	Scanned   bool   // the search stopped at maxScan; Next goes on
	Challenge bool
	// ExpiresFrom and ExpiresTo (dates, UTC) keep certificates whose
	// not-after lies in [from, to); the timeline's bars link here.
	ExpiresFrom, ExpiresTo string
	Timeline               *timeline // on the first page only
	// Pending are the viewer's own requests still waiting for proof, on
	// the first page of their own list; PendingMore says there are more.
	Pending     []pendingView
	PendingMore bool
	// FirstRun: nothing yet, nothing pending; the page shows first steps
	// instead of filters over nothing.
	FirstRun bool
	// Filters are shown only when there is something to filter.
	Filters bool
	BaseURL string // the CA's public URL, for the first steps' examples
}

// pendingView is a pending challenge as the list shows it.
type pendingView struct {
	ID      string
	Names   []string
	Opened  string // "5 minutes ago"
	Expires time.Time
	Left    string // "expires in 23 hours"
}

// maxPendingListed bounds the pending requests the list shows; the rest
// are said to exist.
const maxPendingListed = 20

// handleList shows the user's certificates (an admin may pick anyone's),
// newest first, filtered by status and a search for a name or id.
func (d *Dashboard) handleList(w http.ResponseWriter, r *http.Request, v *viewer) {
	qv := r.URL.Query()
	data := listData{
		Q:        strings.TrimSpace(qv.Get("q")),
		Status:   qv.Get("status"),
		Statuses: statusOptions,
		Cursor:   qv.Get("cursor"),
	}
	if info, err := d.core.UserPolicy(r.Context(), v.actor(), v.user.Name); err == nil {
		data.Challenge = info.ChallengeRequired // the user's own, as their policy says
	}
	if !slices.ContainsFunc(statusOptions, func(o option) bool { return o.Value == data.Status }) {
		data.Status = ""
	}
	from, to, err := expiryRange(qv.Get("expires_from"), qv.Get("expires_to"))
	if err != nil {
		d.renderError(w, r, v, http.StatusBadRequest, err.Error())
		return
	}
	data.ExpiresFrom, data.ExpiresTo = dateParam(from), dateParam(to)
	q := inventory.Query{Owner: v.user.Name, Cursor: data.Cursor}
	data.Heading = "Your certificates"
	if v.user.Admin {
		data.Owner = qv.Get("owner")
		switch data.Owner {
		case "", v.user.Name:
			data.Owner = ""
		case "*":
			q.Owner, data.Heading, data.ShowOwner = "", "All certificates", true
		default:
			q.Owner, data.Heading, data.ShowOwner = data.Owner, "Certificates of "+data.Owner, true
		}
		users, err := d.core.Users(r.Context(), v.actor())
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		data.Owners = []option{{"", "Mine"}, {"*", "Everyone"}}
		for _, u := range users {
			if u.Name != v.user.Name {
				data.Owners = append(data.Owners, option{u.Name, u.Name})
			}
		}
	}
	data.Filtered = data.Q != "" || data.Status != "" || !from.IsZero() || !to.IsZero()

	now := d.ca.Now()
	q, keep := listQuery(q, data.Status, data.Q, from, to, now)
	certs, next, stopped, err := d.scan(r.Context(), v.actor(), q, keep, now)
	if core.KindOf(err) == core.Invalid {
		d.renderError(w, r, v, http.StatusBadRequest, "This page link is not valid any more; start from the first page.")
		return
	}
	if err != nil {
		d.fail(w, r, v, err)
		return
	}
	for _, c := range certs {
		data.Certs = append(data.Certs, describe(c, now))
	}
	data.First = listURL(data.Q, data.Status, data.Owner, "", data.ExpiresFrom, data.ExpiresTo)
	data.Clear = listURL("", "", data.Owner, "", "", "")
	if next != "" {
		data.Next = listURL(data.Q, data.Status, data.Owner, next, data.ExpiresFrom, data.ExpiresTo)
		data.Scanned = stopped
	}
	if data.Cursor == "" && data.Owner == "" {
		pending, more, err := d.core.PendingChallenges(r.Context(), v.actor(), maxPendingListed)
		if err != nil {
			d.fail(w, r, v, err)
			return
		}
		for _, p := range pending {
			data.Pending = append(data.Pending, pendingView{
				ID: p.ID, Names: p.Names, Expires: p.Expires,
				Opened: since(now.Sub(p.Created)), Left: "expires " + in(p.Expires.Sub(now)),
			})
		}
		data.PendingMore = more
		data.FirstRun = len(data.Certs) == 0 && len(data.Pending) == 0 && !data.Filtered
		data.BaseURL = d.core.PublicURL()
	}
	// An admin's owner choice leads to others' certificates even when
	// their own list is empty.
	data.Filters = len(data.Certs) > 0 || data.Filtered || data.Cursor != "" || len(data.Owners) > 2
	if data.Cursor == "" && !data.FirstRun {
		if data.Timeline, err = d.timeline(r.Context(), v, q.Owner, data.Owner, now); err != nil {
			d.fail(w, r, v, err)
			return
		}
	}
	d.render(w, r, http.StatusOK, "certificates", d.view(v, data.Heading, "certificates", data))
}

func listURL(q, status, owner, cursor, from, to string) string {
	v := url.Values{}
	for k, val := range map[string]string{"q": q, "status": status, "owner": owner, "cursor": cursor, "expires_from": from, "expires_to": to} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if len(v) == 0 {
		return "/certificates"
	}
	return "/certificates?" + v.Encode()
}

// listQuery turns the page's filters into a query an index answers, and
// the predicate for what no index does (nil keeps all): revoked from the
// revoked index, valid and expired (and the timeline's date ranges) from
// the expiry index, a name with a dot in it ("db.home.lan", ".home.lan")
// from the name index, as the name and every name under it. Only "soon"
// (which depends on each certificate's lifetime) and a search for part of
// a name or an id are filtered from what is read, a page at most.
func listQuery(q inventory.Query, status, search string, from, to, now time.Time) (inventory.Query, func(inventory.Certificate) bool) {
	switch status {
	case "revoked":
		q.Revoked = true
	case "expired":
		// Describe calls a certificate expired from its not-after on.
		q.EndsFrom, q.EndsTo = time.Unix(0, 0), now.Add(time.Nanosecond)
	case "valid", "soon":
		q.EndsFrom = now.Add(time.Nanosecond)
	}
	if !from.IsZero() || !to.IsZero() {
		if from.After(q.EndsFrom) || q.EndsFrom.IsZero() {
			q.EndsFrom = from
		}
		if !to.IsZero() && (q.EndsTo.IsZero() || to.Before(q.EndsTo)) {
			q.EndsTo = to
		}
		if q.EndsFrom.IsZero() {
			q.EndsFrom = time.Unix(0, 0)
		}
	}
	if q.Revoked && !q.EndsFrom.IsZero() {
		// Revoked certificates are in no expiry range: nothing matches.
		q.EndsTo = q.EndsFrom
	}
	search = strings.ToLower(search)
	if dot := strings.IndexByte(search, '.'); dot >= 0 && dot < len(search)-1 {
		if _, _, err := inventory.NameQuery(search); err == nil {
			q.Name = search
			if !strings.HasPrefix(search, ".") {
				q.Name = "." + search
			}
			search = ""
		}
	}
	if status != "soon" && search == "" {
		return q, nil
	}
	return q, func(c inventory.Certificate) bool {
		if status == "soon" && describe(c, now).State != "soon" {
			return false
		}
		if search == "" || strings.HasPrefix(c.ID, search) {
			return true
		}
		for _, n := range c.Names {
			if strings.Contains(strings.ToLower(n), search) {
				return true
			}
		}
		return false
	}
}

// scan reads pages of inventory.List until it has pageSize certificates
// that keep accepts, or has looked at maxScan. Each read asks for no more
// than are still wanted, so the cursor it returns is right after the last
// one looked at, and the next page misses none.
func (d *Dashboard) scan(ctx context.Context, a core.Actor, q inventory.Query, keep func(inventory.Certificate) bool, now time.Time) (out []inventory.Certificate, next string, stopped bool, err error) {
	if keep == nil {
		q.Limit = pageSize
		p, err := d.core.Certificates(ctx, a, q)
		return p.Certificates, p.NextCursor, false, err
	}
	seen := 0
	for len(out) < pageSize {
		q.Limit = pageSize - len(out)
		p, err := d.core.Certificates(ctx, a, q)
		if err != nil {
			return nil, "", false, err
		}
		for _, c := range p.Certificates {
			if keep(c) {
				out = append(out, c)
			}
		}
		seen += len(p.Certificates)
		if p.NextCursor == "" {
			return out, "", false, nil
		}
		q.Cursor = p.NextCursor
		if seen >= maxScan {
			return out, q.Cursor, true, nil
		}
	}
	return out, q.Cursor, false, nil
}
