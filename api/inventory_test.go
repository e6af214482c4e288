package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"certmaker/inventory"
)

func (e *env) list(t *testing.T, user, query string) inventory.Page {
	t.Helper()
	r := e.do("GET", "/api/certificates?"+query, user, "").want(t, 200)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var p inventory.Page
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(p inventory.Page) []string {
	out := make([]string, len(p.Certificates))
	for i, c := range p.Certificates {
		out[i] = c.ID
	}
	return out
}

func idOf(path string) string {
	return strings.Split(strings.TrimPrefix(path, "/api/certificate/"), "/")[0]
}

func TestListCertificates(t *testing.T) {
	clk := &clock{}
	clk.now.Store(time.Now().Truncate(time.Second).UnixNano())
	e := newEnv(t, envOptions{clock: clk.Now})
	var alice []string // ids, oldest first
	for _, days := range []string{"3", "10", "40"} {
		p, _ := e.issue("alice", `{"domains":["a.home.lan"],"days":`+days+`}`)
		alice = append(alice, idOf(p))
		clk.Advance(time.Minute)
	}
	bobPath, _ := e.issue("bob", `{"domains":["b.home.lan"]}`)
	bob := idOf(bobPath)

	t.Run("OwnerRule", func(t *testing.T) {
		if got := ids(e.list(t, "alice", "")); strings.Join(got, ",") != strings.Join([]string{alice[2], alice[1], alice[0]}, ",") {
			t.Errorf("alice sees %v, want her three newest first", got)
		}
		if got := ids(e.list(t, "alice", "user=bob")); len(got) != 3 || got[0] != alice[2] {
			t.Errorf("alice asking for bob's sees %v, want only her own", got)
		}
		if got := ids(e.list(t, "root", "")); len(got) != 4 || got[0] != bob {
			t.Errorf("admin sees %v, want all four newest first", got)
		}
		if got := ids(e.list(t, "root", "user=bob")); len(got) != 1 || got[0] != bob {
			t.Errorf("admin filtering bob sees %v", got)
		}
		e.do("GET", "/api/certificates", "", "").want(t, 401)
	})
	t.Run("Paging", func(t *testing.T) {
		p1 := e.list(t, "root", "limit=3")
		if len(p1.Certificates) != 3 || p1.NextCursor == "" {
			t.Fatalf("page 1: %v next %q", ids(p1), p1.NextCursor)
		}
		p2 := e.list(t, "root", "limit=3&cursor="+url.QueryEscape(p1.NextCursor))
		if len(p2.Certificates) != 1 || p2.NextCursor != "" || p2.Certificates[0].ID != alice[0] {
			t.Errorf("page 2: %v next %q", ids(p2), p2.NextCursor)
		}
	})
	t.Run("Expiring", func(t *testing.T) {
		if got := ids(e.list(t, "alice", "expiring=7d")); len(got) != 1 || got[0] != alice[0] {
			t.Errorf("expiring within 7d: %v, want the 3-day one", got)
		}
		if got := ids(e.list(t, "alice", "expiring=2w")); len(got) != 2 {
			t.Errorf("expiring within 2w: %v, want two", got)
		}
		clk.Advance(4 * 24 * time.Hour)
		if got := ids(e.list(t, "alice", "expiring=7d")); len(got) != 1 || got[0] != alice[1] {
			t.Errorf("4 days later, expiring within 7d: %v, want the 10-day one", got)
		}
		for _, c := range e.list(t, "alice", "").Certificates {
			want := inventory.StatusValid
			if c.ID == alice[0] {
				want = inventory.StatusExpired
			}
			if c.Status != want {
				t.Errorf("%s: status %s, want %s", c.ID, c.Status, want)
			}
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		e.do("POST", "/api/certificate/"+alice[2]+"/revoke", "alice", `{"reason":"superseded"}`).want(t, 200)
		p := e.list(t, "alice", "revoked=true")
		if len(p.Certificates) != 1 || p.Certificates[0].ID != alice[2] || p.Certificates[0].Reason != "superseded" || p.Certificates[0].RevokedAt == nil {
			t.Errorf("revoked: %+v", p.Certificates)
		}
		if got := ids(e.list(t, "bob", "revoked=true")); len(got) != 0 {
			t.Errorf("bob's revoked: %v", got)
		}
	})
	t.Run("BadQuery", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=501", "limit=x", "expiring=soon", "expiring=-3d", "cursor=zz", "cursor=00", "revoked=maybe"} {
			e.do("GET", "/api/certificates?"+q, "alice", "").want(t, 400)
		}
	})
}

func TestCertificateDetails(t *testing.T) {
	e := newEnv(t, envOptions{})
	path, _ := e.issue("alice", `{"domains":["d.home.lan"],"ips":["10.0.0.1"],"key_type":"rsa-2048"}`)
	id := idOf(path)
	r := e.do("GET", "/api/v1/certificate/"+id, "alice", "").want(t, 200)
	var d inventory.Certificate
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		t.Fatal(err)
	}
	if d.ID != id || d.Owner != "alice" || d.KeyType != "rsa-2048" || d.Status != "valid" || !d.HasPrivateKey ||
		strings.Join(d.Names, ",") != "d.home.lan,10.0.0.1" || d.Subject != "CN=d.home.lan" {
		t.Errorf("details %+v", d)
	}
	// root_fingerprint is the root's, as its name says (what devices
	// trust, what `root fingerprint` prints); the intermediate that
	// signed it has a field of its own.
	if root, in := e.ca.ActiveRoot(), e.ca.Active(); d.Root != root.Fingerprint || d.IssuerFingerprint != in.Fingerprint || root == in {
		t.Errorf("root_fingerprint %s, issuer_fingerprint %s; want the root %s and the intermediate %s", d.Root, d.IssuerFingerprint, root.Fingerprint, in.Fingerprint)
	}
	for _, key := range []string{`"root_fingerprint":`, `"issuer_fingerprint":`} {
		if !strings.Contains(r.body, key) {
			t.Errorf("details lack %s:\n%s", key, r.body)
		}
	}
	e.do("GET", "/api/certificate/"+id, "bob", "").want(t, 404)
	e.do("GET", "/api/certificate/"+id, "root", "").want(t, 200)
	e.do("GET", "/api/certificate/12345", "alice", "").want(t, 404)
	e.do("GET", "/api/certificate/xyz", "alice", "").want(t, 400)
}
