package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"certmaker/ca"
	"certmaker/core"
	"certmaker/inventory"
	"certmaker/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// page is what every template gets: the layout's fields and the page's
// own Data.
type page struct {
	Title   string
	Nav     string // which main navigation entry is current
	User    *storage.User
	CSRF    string
	Flash   string
	Data    any
	Version string
	Assets  string // version of the static assets, for cache busting
}

// pages holds one parsed template per page, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"join":     strings.Join,
	"size":     inventory.HumanBytes,
	"plural":   plural,
	"wrap":     breakable,
	"colons":   ca.Colons,
	"policy":   core.PolicySummary,
}

func loadPages(assets string) (*pages, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: make(map[string]*template.Template)}
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", file)
		if err != nil {
			return nil, fmt.Errorf("web: parsing %s: %w", file, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view fills in the layout's fields for a signed-in user and takes the
// waiting flash message.
func (d *Dashboard) view(v *viewer, title, nav string, data any) *page {
	p := &page{Title: title, Nav: nav, Data: data}
	if v != nil {
		p.User = &v.user
		p.CSRF = v.sess.csrf
		p.Flash = d.sessions.takeFlash(v.sess.id)
	}
	return p
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := d.pages.byName[name]
	if !ok {
		d.log.Error("no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.Version = d.version
	p.Assets = d.static.version
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		d.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

type errorData struct {
	Status  int
	Heading string
	Message string
}

// renderError shows a failure as a page; v may be nil (not signed in).
// An empty message is the status text; a 500's details go to the log,
// never to the page.
func (d *Dashboard) renderError(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	if msg == "" {
		msg = http.StatusText(status) + "."
	}
	heading := http.StatusText(status)
	switch status {
	case http.StatusNotFound:
		heading = "Not found"
	case http.StatusForbidden:
		heading = "Refused"
	}
	d.render(w, r, status, "error", d.view(v, heading, "", errorData{Status: status, Heading: heading, Message: msg}))
}

// assets are the embedded static files, served with long caching when
// asked for by their current version.
type assets struct {
	version string
	files   map[string][]byte
}

func loadAssets() (*assets, error) {
	a := &assets{files: make(map[string][]byte)}
	h := sha256.New()
	err := fs.WalkDir(staticFS, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		a.files[path.Base(p)] = b
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: reading static files: %w", err)
	}
	a.version = hex.EncodeToString(h.Sum(nil)[:6])
	return a, nil
}

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if r.URL.Query().Get("v") == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+a.version+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
