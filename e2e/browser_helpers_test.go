package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (make test installs it) or skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium installed (make test installs it with scripts/deps.sh); skipping the browser tests")
	return ""
}

// page is one browser tab on a running certmaker.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string
	dl    string // download directory
	shots string // "" when screenshots are not kept
}

// newPage starts headless Chromium with a fresh profile and opens a tab.
func newPage(t *testing.T, base string) *page {
	t.Helper()
	return newPageWith(t, base)
}

// newPageWith is newPage with more options for Chromium's start (its
// environment, say).
func newPageWith(t *testing.T, base string, more ...chromedp.ExecAllocatorOption) *page {
	t.Helper()
	exe := chromiumPath(t)
	profile, err := os.MkdirTemp("", "certmaker-chromium")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // as root, and in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
		// This machine has no network: nothing but the server under test.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
	)
	opts = append(opts, more...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
		// Chromium's helpers may still write for a moment after it exits.
		for range 20 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	p := &page{t: t, ctx: ctx, base: base, dl: t.TempDir()}
	if os.Getenv("CERTMAKER_SCREENSHOTS") != "" {
		p.shots = filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(p.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p.do(chromedp.EmulateViewport(1280, 800), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: p.dl, EventsEnabled: new(true),
		})
		return err
	}))
	return p
}

func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

// open navigates to path and returns the status of the page.
func (p *page) open(path string) int64 {
	p.t.Helper()
	resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(p.base+path))
	if err != nil {
		p.t.Fatalf("opening %s: %v", path, err)
	}
	return resp.Status
}

// click clicks what sel finds and waits for the page it leads to.
func (p *page) click(sel string) int64 {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("clicking %s: %v", sel, err)
	}
	return resp.Status
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (p *page) path() string {
	p.t.Helper()
	loc, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, p.base)
}

// has reports whether sel matches anything on the page now.
func (p *page) has(sel string) bool {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		p.t.Fatal(err)
	}
	return n > 0
}

// wantText fails unless the text of sel contains want.
func (p *page) wantText(sel, want string) {
	p.t.Helper()
	if got := p.text(sel); !strings.Contains(got, want) {
		p.t.Fatalf("%s on %s says %q, want %q", sel, p.path(), got, want)
	}
}

// download clicks a download link and returns the file's name (as the
// server suggested it) and content.
func (p *page) download(sel string) (string, []byte) {
	p.t.Helper()
	begin := chromedp.Events(p.ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(p.ctx, browser.DownloadProgress)
	p.do(chromedp.Click(chromedp.CSS(sel)))
	var name string
	for ev, err := range begin {
		if err != nil {
			p.t.Fatalf("download of %s: %v", sel, err)
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			p.t.Fatalf("download of %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(p.dl, ev.GUID))
			if err != nil {
				p.t.Fatal(err)
			}
			return name, b
		case browser.DownloadProgressStateCanceled:
			p.t.Fatalf("download of %s canceled", sel)
		}
	}
	return "", nil
}

// shot saves the page as docs/screenshots/<name>-desktop.png and, with
// phone, -phone.png (390x844), when screenshots are kept.
func (p *page) shot(name string, phone bool) {
	p.t.Helper()
	if p.shots == "" {
		return
	}
	p.capture(name + "-desktop")
	if phone {
		p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
		p.capture(name + "-phone")
		p.do(chromedp.EmulateViewport(1280, 800))
	}
}

func (p *page) capture(name string) {
	p.t.Helper()
	// Let the layout settle after a viewport change, then take the viewport.
	p.do(chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`))
	buf, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatal(err)
	}
	// Chromium's PNGs are fast, not small; the repository keeps these.
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		p.t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, quantize(img)); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.shots, name+".png"), out.Bytes(), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// quantize keeps the 256 most used colours of a screenshot and maps every
// other one to the nearest of them. A flat page has few colours beyond
// the shades of anti-aliased text, so this looks the same at a third of
// the size.
func quantize(img image.Image) *image.Paletted {
	b := img.Bounds()
	rgb := func(x, y int) color.RGBA {
		r, g, bl, _ := img.At(x, y).RGBA()
		return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
	}
	counts := map[color.RGBA]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[rgb(x, y)]++
		}
	}
	cols := slices.SortedFunc(maps.Keys(counts), func(a, c color.RGBA) int { return counts[c] - counts[a] })
	pal := make(color.Palette, 0, 256)
	for _, c := range cols[:min(256, len(cols))] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	index := map[color.RGBA]uint8{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := rgb(x, y)
			i, ok := index[c]
			if !ok {
				i = uint8(pal.Index(c))
				index[c] = i
			}
			out.SetColorIndex(x, y, i)
		}
	}
	return out
}

func (p *page) signIn(token string) int64 {
	p.t.Helper()
	p.open("/signin")
	// The keyboard way: the field has focus, Enter submits.
	resp, err := chromedp.RunResponse(p.ctx, chromedp.SendKeys(chromedp.CSS("#token"), token+"\r"))
	if err != nil {
		p.t.Fatalf("signing in: %v", err)
	}
	return resp.Status
}

func (p *page) cookies() []*network.Cookie {
	p.t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base + "/"}})
	if err != nil {
		p.t.Fatal(err)
	}
	return res.Cookies
}

var idPath = regexp.MustCompile(`^/certificates/(\d+)$`)

// dashServer is a `certmaker serve` whose log is read only after it exits
// (to search it for tokens), with the bootstrap admin's token.
type dashServer struct {
	*loggedServer
	token string
}

func startDashboard(t *testing.T, dir string) *dashServer {
	t.Helper()
	s := &dashServer{loggedServer: binary.StartLogged(t, dir)}
	// Printed before the server listens, so it is in the file by now.
	b, err := os.ReadFile(s.Log)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s{4}(\S{43})$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("first start printed no admin token:\n%s", b)
	}
	s.token = m[1]
	return s
}

func (s *dashServer) do(t *testing.T, method, path, token, body string) (int, http.Header, string) {
	t.Helper()
	code, h, b, err := tryDo(s.URL, method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, h, b
}

// verifyChain parses a leaf and a root from PEM and verifies the leaf for
// name against the root alone, as a client trusting the root would.
func verifyChain(t *testing.T, leafPEM, rootPEM []byte, name string) *x509.Certificate {
	t.Helper()
	parse := func(b []byte) *x509.Certificate {
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" {
			t.Fatalf("not a PEM certificate: %q", b)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The download is the chain: the leaf, then its intermediate.
	leaf, root := parse(leafPEM), parse(rootPEM)
	pool, inter := x509.NewCertPool(), x509.NewCertPool()
	pool.AddCert(root)
	rest := leafPEM
	for n := 0; ; n++ {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			if n != 2 {
				t.Fatalf("the downloaded certificate holds %d certificates, want the leaf and its intermediate", n)
			}
			break
		}
		if n > 0 {
			inter.AppendCertsFromPEM(pem.EncodeToMemory(blk))
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: name}); err != nil {
		t.Fatalf("the downloaded certificate does not verify against the downloaded root: %v", err)
	}
	return leaf
}

func checkKeyMatches(t *testing.T, keyPEM []byte, leaf *x509.Certificate) {
	t.Helper()
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatalf("not a PKCS#8 PEM key: %.40q", keyPEM)
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("key %T has no public key", key)
	}
	if eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(leaf.PublicKey) {
		t.Fatal("the downloaded key does not belong to the certificate")
	}
}

// plistValue parses an XML property list into Go values: dict as
// map[string]any, array as []any, data as []byte, string, integer as
// int64, true and false as bool. Enough of the format to read an Apple
// configuration profile back without trusting the code that wrote it.
func plistValue(t *testing.T, b []byte) any {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("plist: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "plist" {
			v, err := plistNext(dec)
			if err != nil {
				t.Fatalf("plist: %v", err)
			}
			return v
		}
	}
}

func plistNext(dec *xml.Decoder) (any, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			return plistElement(dec, tk)
		case xml.EndElement:
			return nil, nil // the end of an array or dict
		}
	}
}

func plistElement(dec *xml.Decoder, se xml.StartElement) (any, error) {
	text := func() (string, error) {
		var s string
		err := dec.DecodeElement(&s, &se)
		return s, err
	}
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			k, err := plistNext(dec)
			if err != nil {
				return nil, err
			}
			if k == nil {
				return m, nil
			}
			key, ok := k.(plistKey)
			if !ok {
				return nil, fmt.Errorf("dict holds a %T where a key belongs", k)
			}
			v, err := plistNext(dec)
			if err != nil || v == nil {
				return nil, fmt.Errorf("dict key %s has no value: %v", key, err)
			}
			m[string(key)] = v
		}
	case "array":
		var a []any
		for {
			v, err := plistNext(dec)
			if err != nil {
				return nil, err
			}
			if v == nil {
				return a, nil
			}
			a = append(a, v)
		}
	case "key":
		s, err := text()
		return plistKey(s), err
	case "string":
		return text()
	case "data":
		s, err := text()
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	case "integer":
		s, err := text()
		if err != nil {
			return nil, err
		}
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	case "true", "false":
		_, err := text()
		return se.Name.Local == "true", err
	}
	return nil, fmt.Errorf("unknown plist element <%s>", se.Name.Local)
}

type plistKey string

// zbar decodes the QR codes in a PNG with zbarimg (Debian's zbar-tools,
// which make test installs), an independent judge of the code drawn.
func zbar(t *testing.T, png []byte) string {
	t.Helper()
	exe, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("no zbarimg installed (make test installs zbar-tools with scripts/deps.sh)")
	}
	f := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(f, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe, "--quiet", "--raw", f).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// axeVersion is the axe-core vendored in testdata/axe.min.js (`make axe`
// fetches it from the npm registry).
const axeVersion = "4.14.1"

// axeSource reads the vendored axe-core, refusing a file of another
// version or without its license header.
var axeSource = sync.OnceValues(func() (string, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "axe.min.js"))
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(b, []byte("/*! axe v"+axeVersion+"\n")) || !bytes.Contains(b[:600], []byte("Mozilla Public")) {
		return "", fmt.Errorf("testdata/axe.min.js is not axe-core %s with its license header: run make axe", axeVersion)
	}
	return string(b), nil
})

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// auditSizes are the viewports every page is checked at; the narrowest
// phones (320) are checked for overflow too.
var auditSizes = []struct {
	name string
	w, h int64
}{{"desktop", 1280, 800}, {"phone", 390, 844}}

// audit checks the page as it is now, in light and dark, at desktop and
// phone size: axe-core finds no violation, no page is wider than a 320 or
// 390 px screen, and the focus ring has 3:1 contrast against what is
// around it (WCAG 1.4.11). It leaves the page at light desktop.
func (p *page) audit(name string) {
	p.t.Helper()
	src, err := axeSource()
	if err != nil {
		p.t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		p.setScheme(scheme)
		for _, size := range auditSizes {
			if size.name == "phone" {
				p.do(chromedp.EmulateViewport(size.w, size.h, chromedp.EmulateMobile))
			} else {
				p.do(chromedp.EmulateViewport(size.w, size.h))
			}
			p.settle()
			where := fmt.Sprintf("%s (%s, %s %dpx)", name, p.path(), scheme, size.w)
			if ok, _ := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`typeof axe === "object"`)); !ok {
				p.do(chromedp.Evaluate[chromedp.Void](src))
			}
			res, err := chromedp.Run(p.ctx, chromedp.Evaluate[struct {
				Violations []axeViolation
				Passes     int
			}](`axe.run(document, {resultTypes: ["violations"]}).then(r => ({Violations: r.violations, Passes: r.passes.length}))`, chromedp.EvalAwaitPromise))
			if err != nil {
				p.t.Fatalf("axe on %s: %v", where, err)
			}
			if res.Passes < 10 {
				// A run that checked nothing would pass every page.
				p.t.Fatalf("axe on %s passed only %d rules", where, res.Passes)
			}
			for _, v := range res.Violations {
				var nodes []string
				for _, n := range v.Nodes {
					nodes = append(nodes, fmt.Sprintf("%v %.120s: %s", n.Target, n.HTML, n.Summary))
				}
				p.t.Errorf("axe on %s: %s (%s): %s\n  %s", where, v.ID, v.Impact, v.Help, strings.Join(nodes, "\n  "))
			}
			if size.name == "desktop" {
				p.checkFocusRing(where)
			}
		}
		for _, w := range []int64{320, 390} {
			p.do(chromedp.EmulateViewport(w, 700, chromedp.EmulateMobile))
			p.settle()
			p.checkWidth(fmt.Sprintf("%s (%s, %s %dpx)", name, p.path(), scheme, w))
		}
	}
	p.setScheme("light")
	p.do(chromedp.EmulateViewport(1280, 800))
}

func (p *page) setScheme(scheme string) {
	p.t.Helper()
	_, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// settle waits for the layout after a viewport or media change.
func (p *page) settle() {
	p.t.Helper()
	p.do(chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
}

// checkWidth fails if the page scrolls sideways, naming what sticks out;
// if a box inside it does (a phone user would have to find and drag it);
// or if a label of a chart lies outside its SVG, which clips it.
func (p *page) checkWidth(where string) {
	p.t.Helper()
	type width struct {
		Scroll, Client     int
		Wide, Inner, Clips []string
	}
	w, err := chromedp.Run(p.ctx, chromedp.Evaluate[width](`(() => {
		const d = document.documentElement, wide = [], inner = [], clips = [];
		const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && r.right > d.clientWidth + 1 && wide.length < 6)
				wide.push(name(el) + " to " + Math.round(r.right) + "px");
			const ox = getComputedStyle(el).overflowX;
			if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 1 && inner.length < 6)
				inner.push(name(el) + " holds " + el.scrollWidth + " px in " + el.clientWidth);
		}
		for (const t of document.querySelectorAll("svg text")) {
			const s = t.ownerSVGElement.getBoundingClientRect(), r = t.getBoundingClientRect();
			if (r.width > 0 && (r.left < s.left - 0.5 || r.right > s.right + 0.5 || r.top < s.top - 0.5 || r.bottom > s.bottom + 0.5) && clips.length < 6)
				clips.push(JSON.stringify(t.textContent) + " at " + Math.round(r.left) + ".." + Math.round(r.right) + " px in an SVG of " + Math.round(s.left) + ".." + Math.round(s.right));
		}
		return {Scroll: d.scrollWidth, Client: d.clientWidth, Wide: wide, Inner: inner, Clips: clips};
	})()`))
	if err != nil {
		p.t.Fatal(err)
	}
	if w.Scroll > w.Client {
		p.t.Errorf("%s is %d px wide on a %d px screen: %s", where, w.Scroll, w.Client, strings.Join(w.Wide, ", "))
	}
	if len(w.Inner) > 0 {
		p.t.Errorf("%s scrolls sideways inside: %s", where, strings.Join(w.Inner, ", "))
	}
	if len(w.Clips) > 0 {
		p.t.Errorf("%s clips chart labels: %s", where, strings.Join(w.Clips, ", "))
	}
}

// checkFocusRing focuses every visible control the keyboard reaches and
// measures its outline against the background behind it.
func (p *page) checkFocusRing(where string) {
	p.t.Helper()
	// A headless tab has no focus of its own, and without it nothing
	// matches :focus-visible.
	if _, err := chromedp.Call(p.ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		p.t.Fatal(err)
	}
	type rings struct {
		Bad     []string
		Checked int
	}
	res, err := chromedp.Run(p.ctx, chromedp.Evaluate[rings](`(() => {
		const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
		const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
		const behind = el => {
			for (let e = el.parentElement; e; e = e.parentElement) {
				const c = rgb(getComputedStyle(e).backgroundColor);
				if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c;
			}
			return matchMedia("(prefers-color-scheme: dark)").matches ? [0, 0, 0] : [255, 255, 255];
		};
		const bad = [];
		let checked = 0;
		for (const el of document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]")) {
			if (el.tabIndex < 0 || el.getClientRects().length === 0 || el.closest("[hidden]")) continue;
			el.focus({focusVisible: true});
			if (document.activeElement !== el || !el.matches(":focus-visible")) continue;
			checked++;
			const st = getComputedStyle(el);
			const ring = rgb(st.outlineColor), bg = behind(el);
			const [a, b] = [lum(ring), lum(bg)];
			const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			if (st.outlineStyle === "none" || parseFloat(st.outlineWidth) < 2 || ratio < 3)
				bad.push(el.tagName.toLowerCase() + " " + (el.textContent || el.name || "").trim().slice(0, 30) + ": " + st.outlineStyle + " " + st.outlineWidth + " " + st.outlineColor + " on rgb(" + bg.join(",") + "), " + ratio.toFixed(2) + ":1");
			el.blur();
		}
		return {Bad: bad, Checked: checked};
	})()`))
	if err != nil {
		p.t.Fatal(err)
	}
	if res.Checked == 0 {
		p.t.Fatalf("focus ring on %s: no control took a visible focus", where)
	}
	for _, b := range res.Bad {
		p.t.Errorf("focus ring on %s: %s", where, b)
	}
}

// makeCSR makes a P-256 key and a PEM CSR for names, as a person would
// with openssl req.
func makeCSR(t *testing.T, names ...string) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: names[0]}, DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}
