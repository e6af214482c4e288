package codec

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"certmaker/storage"
)

// TestUserRecord_Policy: a user record written before policies existed
// still decodes, with the zero policy (the CA's limits only); a user
// without a policy is written exactly as before, so an older certmaker
// can still read it; one with a policy keeps every field.
func TestUserRecord_Policy(t *testing.T) {
	old := []byte(`{"v":1,"r":{"name":"alice","admin":true,"created":"2026-01-02T03:04:05Z","token_hash":"AAEC"}}`)
	var u storage.User
	if err := Decode(old, &u); err != nil {
		t.Fatalf("decoding a record from before policies: %v", err)
	}
	if u.Name != "alice" || !u.Admin || !bytes.Equal(u.TokenHash, []byte{0, 1, 2}) || !u.Policy.IsZero() {
		t.Errorf("old record decoded as %+v", u)
	}
	again, err := Encode(u)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, old) {
		t.Errorf("a user without a policy is written as\n%s\nwant what older versions wrote\n%s", again, old)
	}

	u.Policy = storage.Policy{Allow: []string{".lab.home.lan", "10.0.0.0/8", "@home.lan"}, Deny: []string{"vault.lab.home.lan"},
		MaxDays: 30, KeyTypes: []string{"ecdsa-p256", "ed25519"}, Challenge: "optional"}
	u.Created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b, err := Encode(u)
	if err != nil {
		t.Fatal(err)
	}
	var got storage.User
	if err := Decode(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, u)
	}
}
