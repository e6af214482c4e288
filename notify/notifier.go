package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"certmaker/storage"
)

// Store is what the notifier reads and writes. *store.DB implements it.
type Store interface {
	ExpiringCertificates(after, before time.Time, limit int) ([]storage.Certificate, error)
	ListCertificates(q storage.ListQuery) ([]storage.Certificate, []byte, error)
	Announced(key []byte) (bool, error)
	MarkAnnounced(key []byte, at, until time.Time) error
	ForgetAnnounced(before time.Time, max int) (int, error)
}

// Root is the active root CA as the notifier needs it.
type Root struct {
	Cert        *x509.Certificate
	Fingerprint string
}

// Config wires a Notifier.
type Config struct {
	URLs   []string
	Format string // json (default), ntfy or gotify
	// WarnDays > 0 warns that many days before a certificate ends; 0 at
	// the last third of its lifetime, when ACME clients renew.
	WarnDays int
	// RootWarnDays > 0 warns that many days before the active root ends;
	// 0 never.
	RootWarnDays int
	// MaxDays is the longest lifetime a certificate may have been issued
	// for; a third of it bounds how far ahead a check looks. Default 3650.
	MaxDays int
	// Interval between checks; default one hour.
	Interval time.Duration
	// PublicURL is the base of the links in messages.
	PublicURL string

	// Store is needed by Check, not by Test.
	Store Store
	// ActiveRoot returns the active root, or nil; nil means roots are not
	// watched.
	ActiveRoot func() *Root

	Now    func() time.Time // default time.Now
	Client *http.Client     // default: a client with a 10s timeout
	Logger *slog.Logger
	// Attempts per message and webhook in one check (default 4), the
	// first Backoff apart (default 2s), doubling.
	Attempts int
	Backoff  time.Duration
}

// Notifier checks for certificates nearing their end and announces them.
type Notifier struct {
	targets  []target
	warnDays int
	rootDays int
	horizon  time.Duration
	interval time.Duration
	base     string
	store    Store
	root     func() *Root
	now      func() time.Time
	client   *http.Client
	log      *slog.Logger
	attempts int
	backoff  time.Duration
}

// New checks cfg. A Notifier without URLs is valid and sends nothing.
func New(cfg Config) (*Notifier, error) {
	if cfg.Format == "" {
		cfg.Format = FormatJSON
	}
	if !slices.Contains(Formats, cfg.Format) {
		return nil, fmt.Errorf("notify format %q: want %s", cfg.Format, strings.Join(Formats, ", "))
	}
	if cfg.WarnDays < 0 || cfg.RootWarnDays < 0 || cfg.MaxDays < 0 || cfg.Interval < 0 || cfg.Attempts < 0 || cfg.Backoff < 0 {
		return nil, errors.New("notify: days, interval, attempts and backoff must not be negative")
	}
	n := &Notifier{
		warnDays: cfg.WarnDays, rootDays: cfg.RootWarnDays, interval: cfg.Interval,
		base: strings.TrimRight(cfg.PublicURL, "/"), store: cfg.Store, root: cfg.ActiveRoot,
		now: cfg.Now, client: cfg.Client, log: cfg.Logger, attempts: cfg.Attempts, backoff: cfg.Backoff,
	}
	seen := map[string]bool{}
	for _, u := range cfg.URLs {
		t, err := newTarget(u, cfg.Format)
		if err != nil {
			return nil, err
		}
		if !seen[t.id] {
			seen[t.id] = true
			n.targets = append(n.targets, t)
		}
	}
	maxDays := cfg.MaxDays
	if maxDays == 0 {
		maxDays = 3650
	}
	n.horizon = time.Duration(maxDays) * 24 * time.Hour / 3
	if n.warnDays > 0 {
		n.horizon = time.Duration(n.warnDays) * 24 * time.Hour
	}
	if n.interval == 0 {
		n.interval = time.Hour
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.client == nil {
		n.client = &http.Client{Timeout: 10 * time.Second}
	}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.attempts == 0 {
		n.attempts = 4
	}
	if n.backoff == 0 {
		n.backoff = 2 * time.Second
	}
	return n, nil
}

// Enabled reports whether there is anywhere to send to.
func (n *Notifier) Enabled() bool { return len(n.targets) > 0 }

// Webhooks are the configured webhooks as logs may show them.
func (n *Notifier) Webhooks() []string {
	out := make([]string, len(n.targets))
	for i, t := range n.targets {
		out[i] = t.name
	}
	return out
}

// Run checks at once and then every interval until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	if !n.Enabled() {
		return
	}
	tick := time.NewTicker(n.interval)
	defer tick.Stop()
	for {
		if err := n.Check(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("checking for expiring certificates", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Limits of one check, so that a large store (or a first check on an old
// one) costs a bounded amount and does not flood a phone: the rest comes
// with the next checks.
const (
	maxCandidates = 10000 // certificates read from the expiry index
	maxPerCheck   = 50    // messages per webhook
	maxRenewals   = 1000  // newer certificates of an owner read to find a renewal
	maxForget     = 10000 // old announcement records deleted
)

// item is one thing to announce.
type item struct {
	key   string // after the target's id
	until time.Time
	event *Event
}

// Check announces, once per webhook, every certificate (and the active
// root) that is in its warning window now and was not announced there.
// It returns when every message was delivered or given up on (for this
// check: the next one tries again).
func (n *Notifier) Check(ctx context.Context) error {
	if !n.Enabled() {
		return nil
	}
	if n.store == nil {
		return errors.New("notify: checking needs a store")
	}
	now := n.now()
	if _, err := n.store.ForgetAnnounced(now, maxForget); err != nil {
		n.log.Warn("forgetting old announcements", "err", err)
	}
	pending, err := n.pending(now)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i, t := range n.targets {
		if len(pending[i]) == 0 {
			continue
		}
		wg.Go(func() { n.announce(ctx, t, pending[i], now) })
	}
	wg.Wait()
	return nil
}

// announce delivers items to t in order, and stops at the first that
// fails every attempt: t is down, and the next check tries again.
func (n *Notifier) announce(ctx context.Context, t target, items []item, now time.Time) {
	for _, it := range items {
		if err := n.deliver(ctx, t, it.event); err != nil {
			if ctx.Err() == nil {
				n.log.Error("webhook delivery failed; trying again at the next check", "webhook", t.name, "event", it.event.Kind,
					"pending", len(items), "err", err)
			}
			return
		}
		if err := n.store.MarkAnnounced([]byte(t.id+"/"+it.key), now, it.until); err != nil {
			// Delivered but not remembered: it may come again after a restart.
			n.log.Error("recording a delivered expiry warning", "webhook", t.name, "err", err)
		}
		n.log.Info("expiry warning sent", "webhook", t.name, "event", it.event.Kind, "subject", it.event.Title)
	}
}

// pending lists, per target, the items due now that it was not sent yet:
// the root first, then certificates soonest first, at most maxPerCheck.
func (n *Notifier) pending(now time.Time) ([][]item, error) {
	out := make([][]item, len(n.targets))
	full := func() bool {
		for _, p := range out {
			if len(p) < maxPerCheck {
				return false
			}
		}
		return true
	}
	// lacking lists the targets that were not sent key yet and have room.
	lacking := func(key string) ([]int, error) {
		var idx []int
		for i, t := range n.targets {
			if len(out[i]) >= maxPerCheck {
				continue
			}
			done, err := n.store.Announced([]byte(t.id + "/" + key))
			if err != nil {
				return nil, err
			}
			if !done {
				idx = append(idx, i)
			}
		}
		return idx, nil
	}
	if it, ok := n.rootItem(now); ok {
		idx, err := lacking(it.key)
		if err != nil {
			return nil, err
		}
		for _, i := range idx {
			out[i] = append(out[i], it)
		}
	}
	certs, err := n.store.ExpiringCertificates(now, now.Add(n.horizon+time.Nanosecond), maxCandidates)
	if err != nil {
		return nil, err
	}
	for i := range certs {
		c := &certs[i]
		if full() {
			break
		}
		if !n.due(c, now) {
			continue
		}
		it := n.certItem(c, now)
		// Asking "announced?" first keeps the renewal lookup, which reads
		// records, to certificates someone still has to hear about.
		idx, err := lacking(it.key)
		if err != nil {
			return nil, err
		}
		if len(idx) == 0 {
			continue
		}
		renewed, err := n.renewed(c)
		if err != nil {
			return nil, err
		}
		if renewed {
			continue
		}
		for _, i := range idx {
			out[i] = append(out[i], it)
		}
	}
	return out, nil
}

// due reports whether c is in its warning window at now.
func (n *Notifier) due(c *storage.Certificate, now time.Time) bool {
	if c.Revoked || !c.NotAfter.After(now) {
		return false
	}
	window := c.NotAfter.Sub(c.Created) / 3
	if n.warnDays > 0 {
		window = time.Duration(n.warnDays) * 24 * time.Hour
	}
	return !now.Before(c.NotAfter.Add(-window))
}

// renewed reports whether a certificate of c's owner for the same names,
// issued after c, unrevoked and ending after it, exists. It reads the
// owner's certificates newest first, down to c or maxRenewals of them.
func (n *Notifier) renewed(c *storage.Certificate) (bool, error) {
	names := sortedNames(c.Names)
	q := storage.ListQuery{Owner: c.Owner, Limit: 100}
	read := 0
	for read < maxRenewals {
		page, next, err := n.store.ListCertificates(q)
		if err != nil {
			return false, fmt.Errorf("looking for a renewal of %s: %w", c.Serial, err)
		}
		for i := range page {
			o := &page[i]
			read++
			if !o.Created.After(c.Created) {
				return false, nil // older from here on
			}
			if !o.Revoked && o.NotAfter.After(c.NotAfter) && slices.Equal(sortedNames(o.Names), names) {
				return true, nil
			}
		}
		if next == nil {
			return false, nil
		}
		q.Before = next
	}
	return false, nil
}

func sortedNames(names []string) []string {
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = strings.ToLower(s)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (n *Notifier) certItem(c *storage.Certificate, now time.Time) item {
	id := c.Serial.String()
	left := daysLeft(now, c.NotAfter)
	first := "a certificate"
	if len(c.Names) > 0 {
		first = c.Names[0]
	}
	names := strings.Join(c.Names, ", ")
	e := &Event{
		Kind:     KindCertificate,
		Title:    fmt.Sprintf("Certificate for %s expires %s", first, inDays(left)),
		Message:  fmt.Sprintf("The certificate for %s (owner %s, id %s) expires on %s. Renew it before then; an ACME client renews by itself.", names, c.Owner, id, c.NotAfter.UTC().Format("2006-01-02 15:04 UTC")),
		NotAfter: c.NotAfter.UTC(),
		DaysLeft: left,
		Certificate: &CertificateInfo{
			ID: id, Names: c.Names, Owner: c.Owner,
		},
	}
	if n.base != "" {
		e.URL = n.base + "/certificates/" + id
	}
	return item{key: "cert/" + id, until: c.NotAfter, event: e}
}

// rootItem is the active root's warning, if it is due.
func (n *Notifier) rootItem(now time.Time) (item, bool) {
	if n.root == nil || n.rootDays <= 0 {
		return item{}, false
	}
	r := n.root()
	if r == nil || r.Cert == nil {
		return item{}, false
	}
	end := r.Cert.NotAfter
	if !end.After(now) || now.Before(end.Add(-time.Duration(n.rootDays)*24*time.Hour)) {
		return item{}, false
	}
	left := daysLeft(now, end)
	e := &Event{
		Kind:  KindRoot,
		Title: fmt.Sprintf("The root CA expires %s", inDays(left)),
		Message: fmt.Sprintf("The root CA %s (SHA-256 %s) expires on %s, and every certificate it issued with it. "+
			"Run `certmaker rotate-root` and install the new root on every device before then.",
			r.Cert.Subject.CommonName, r.Fingerprint, end.UTC().Format("2006-01-02")),
		NotAfter: end.UTC(),
		DaysLeft: left,
		Root:     &RootInfo{Fingerprint: r.Fingerprint, Subject: r.Cert.Subject.String()},
	}
	if n.base != "" {
		e.URL = n.base + "/trust"
	}
	return item{key: "root/" + r.Fingerprint, until: end, event: e}, true
}

// Result is the outcome of a test message to one webhook.
type Result struct {
	Webhook string // redacted
	Err     error
}

// Test sends a sample message to every webhook, once each, and says how
// each went.
func (n *Notifier) Test(ctx context.Context) []Result {
	now := n.now()
	e := &Event{
		Kind:     KindTest,
		Title:    "certmaker test notification",
		Message:  "This is a test from certmaker: expiry warnings will arrive here.",
		NotAfter: now.UTC().Add(7 * 24 * time.Hour).Truncate(time.Second),
		DaysLeft: 7,
		Certificate: &CertificateInfo{
			ID: "0", Names: []string{"example.home.lan"}, Owner: "example",
		},
	}
	if n.base != "" {
		e.URL = n.base + "/trust"
	}
	out := make([]Result, len(n.targets))
	for i, t := range n.targets {
		out[i] = Result{Webhook: t.name, Err: n.send(ctx, t, e)}
	}
	return out
}
