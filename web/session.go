package web

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// session is one signed-in browser. It holds no token: only the user's
// name and the hash of the token it signed in with (what the store keeps
// anyway), so that replacing the token ends its sessions.
type session struct {
	id        string
	user      string
	tokenHash []byte
	csrf      string
	expires   time.Time
	flash     string // shown once, on the next page
}

// maxSessions bounds memory; only people holding a valid token can make
// sessions, so reaching it means many sign-ins, and the oldest go first.
const maxSessions = 10000

// sessions is the in-memory session table. A restart signs everyone out.
type sessions struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: make(map[string]*session)}
}

// randomID is 256 bits from the CSPRNG, base64url: session ids, CSRF
// tokens and sign-in form tokens.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails since Go 1.24; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user; always a new id, so an id planted
// before signing in is worth nothing after.
func (s *sessions) create(user string, tokenHash []byte) session {
	now := s.now()
	sess := &session{
		id:        randomID(),
		user:      user,
		tokenHash: tokenHash,
		csrf:      randomID(),
		expires:   now.Add(s.ttl),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		s.prune(now)
	}
	s.m[sess.id] = sess
	return *sess
}

// prune drops expired sessions and, if still full, the one closest to
// its end. Called with mu held.
func (s *sessions) prune(now time.Time) {
	var oldest *session
	for id, sess := range s.m {
		if !now.Before(sess.expires) {
			delete(s.m, id)
			continue
		}
		if oldest == nil || sess.expires.Before(oldest.expires) {
			oldest = sess
		}
	}
	if len(s.m) >= maxSessions && oldest != nil {
		delete(s.m, oldest.id)
	}
}

// get returns a copy of a live session.
func (s *sessions) get(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.m, id)
		return session{}, false
	}
	return *sess, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// setFlash leaves a message for the session's next page.
func (s *sessions) setFlash(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.m[id]; ok {
		sess.flash = msg
	}
}

// takeFlash returns the waiting message and forgets it.
func (s *sessions) takeFlash(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[id]
	if !ok {
		return ""
	}
	msg := sess.flash
	sess.flash = ""
	return msg
}
