package web_test

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestSignIn_ForeignFormCookie: the sign-in form's double-submit cookie
// is worth something only if this server set it. A cookie someone else
// planted (a sibling host, a plain-http page) with a value of their
// choosing, posted with that value from a page that says nothing of its
// origin, is refused; the same post from this origin is taken; and the
// form page replaces a planted value rather than keeping it.
func TestSignIn_ForeignFormCookie(t *testing.T) {
	e := newEnv(t)
	planted := strings.Repeat("p", 43)
	u, _ := url.Parse(e.srv.URL + "/signin")
	plant := func(b *browser) {
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "certmaker_signin", Value: planted, Path: "/signin"}})
	}
	form := url.Values{"csrf": {planted}, "token": {e.tokens["alice"]}}

	b := e.browser()
	plant(b)
	a := b.post("/signin", form, "Origin", "", "Sec-Fetch-Site", "")
	if a.status != http.StatusForbidden {
		t.Errorf("a planted form cookie, no Origin or Referer: %d, want 403", a.status)
	}
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "certmaker_session=") {
			t.Errorf("a planted form cookie got a session: %s", c)
		}
	}
	// From this origin, by its Origin or (older browsers) its Referer.
	plant(b)
	if a := b.post("/signin", form, "Sec-Fetch-Site", ""); a.status != http.StatusSeeOther {
		t.Errorf("a planted form cookie with this Origin: %d, want 303", a.status)
	}
	b = e.browser()
	plant(b)
	if a := b.post("/signin", form, "Origin", "", "Sec-Fetch-Site", "", "Referer", e.srv.URL+"/signin"); a.status != http.StatusSeeOther {
		t.Errorf("a planted form cookie with this Referer: %d, want 303", a.status)
	}

	// The form page does not adopt a planted value.
	b = e.browser()
	plant(b)
	b.get("/signin")
	if b.csrf == planted {
		t.Error("the sign-in form took the planted cookie's value as its token")
	}
	// A form token this server set needs no Origin: scripts and browsers
	// that send none still sign in.
	if a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {e.tokens["alice"]}}, "Origin", "", "Sec-Fetch-Site", ""); a.status != http.StatusSeeOther {
		t.Errorf("the server's own form token without Origin: %d, want 303", a.status)
	}
}

// TestSignIn_FailuresSlowed: failed sign-ins are logged with the client's
// address (never the token tried), and after a few from one client its
// next failures are answered 429 with Retry-After; a right token still
// signs in from that address (behind a proxy or NAT, everyone shares it)
// and forgets its failures. Other clients are not held back.
func TestSignIn_FailuresSlowed(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/signin")
	wrong := strings.Repeat("W", 43)
	for i := range 5 {
		if a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {wrong}}); a.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, a.status)
		}
	}
	a := b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {wrong}})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "Too many failed sign-ins") {
		t.Errorf("after 5 failures: %d Retry-After %q, want 429 saying why\n%s", a.status, a.header.Get("Retry-After"), a.body)
	}
	// The right token from the same address signs in at once...
	a = b.post("/signin", url.Values{"csrf": {b.csrf}, "token": {e.tokens["alice"]}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/certificates" {
		t.Fatalf("the right token after 5 failures: %d %q, want a sign-in", a.status, a.header.Get("Location"))
	}
	// ...and the address's failures are forgotten.
	c := e.browser()
	c.get("/signin")
	if a := c.post("/signin", url.Values{"csrf": {c.csrf}, "token": {wrong}}); a.status != http.StatusUnauthorized {
		t.Errorf("a failure after the sign-in: %d, want 401 (counted afresh)", a.status)
	}
	// Logged: the five, not the one refused while waiting, and the one
	// after the sign-in.
	logged := e.logs.Messages(t, "failed sign-in")
	if len(logged) != 6 {
		t.Errorf("%d failed sign-ins logged, want 6", len(logged))
	}
	for _, l := range logged {
		if c, _ := l["client"].(string); !strings.HasPrefix(c, "127.0.0.1") {
			t.Errorf("a failed sign-in logged without the client's address: %v", l)
		}
	}
	if strings.Contains(e.logs.String(), wrong) || strings.Contains(e.logs.String(), e.tokens["alice"]) {
		t.Error("a token tried reached the log")
	}

	// Another client signs in as usual.
	other := e.browser()
	other.client.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}
	other.client.Jar, _ = cookiejar.New(nil)
	if _, err := other.client.Get(e.srv.URL + "/healthz"); err != nil {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
	other.signIn("alice")
	if n := len(e.logs.Messages(t, "failed sign-in")); n != 6 {
		t.Errorf("%d failed sign-ins logged after another client's success", n)
	}
}
