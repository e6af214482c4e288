package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// Every sign-in makes a new session with fresh 256-bit ids, kept by the
// store; a message left for the next page is shown on it once.
func TestSessions(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 2 {
		b := e.browser()
		b.signIn("alice")
		c := b.client.Jar.Cookies(mustURL(e.srv.URL))
		if len(c) != 1 || len(c[0].Value) != 43 {
			t.Fatalf("session cookie %v", c)
		}
		ids = append(ids, c[0].Value, b.csrf)
	}
	if ids[0] == ids[2] || ids[1] == ids[3] || ids[0] == ids[1] {
		t.Fatalf("ids are not fresh: %q", ids)
	}

	b := e.browser()
	b.signIn("root")
	a := b.post("/admin/users/alice/disable", url.Values{"csrf": {b.csrf}})
	if a.status != 303 {
		t.Fatalf("disabling a user: %d %s", a.status, a.body)
	}
	if page := b.get(a.header.Get("Location")); !strings.Contains(page.body, `class="flash" role="status">User alice disabled.`) {
		t.Fatalf("the next page has no message: %s", page.body)
	}
	if page := b.get(a.header.Get("Location")); strings.Contains(page.body, `class="flash`) {
		t.Error("the message is shown twice")
	}
}
