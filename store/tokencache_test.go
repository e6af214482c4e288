package store

import "testing"

// TestTokenCache_StaleLookup: a lookup that began before a user write
// committed must not remember what it read, or the cache would serve the
// old user (a disabled user still enabled, a replaced token still valid)
// until the next write.
func TestTokenCache_StaleLookup(t *testing.T) {
	var c tokenCache
	h := []byte("hash")
	gen := c.generation() // a lookup starts and reads the file
	c.invalidate()        // a write commits meanwhile
	c.put(h, User{Name: "alice"}, gen)
	if _, ok := c.get(h); ok {
		t.Fatal("a lookup that overlapped a write was remembered")
	}
	c.put(h, User{Name: "alice"}, c.generation())
	if u, ok := c.get(h); !ok || u.Name != "alice" {
		t.Fatalf("a current lookup was not remembered: %+v %v", u, ok)
	}
	for i := range maxCachedTokens + 1 {
		c.put([]byte{byte(i), byte(i >> 8)}, User{}, c.generation())
	}
	if n := len(c.byHash); n > maxCachedTokens {
		t.Errorf("cache holds %d entries, more than %d", n, maxCachedTokens)
	}
}
