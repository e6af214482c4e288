package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"certmaker/storage"
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

// sessionKeeper keeps sessions for every node of the store: the core,
// which hands them to storage.Coordination (in memory for a file, with a
// lease in etcd, under the hash of the id either way).
type sessionKeeper interface {
	PutSession(ctx context.Context, id string, s storage.Session) error
	Session(ctx context.Context, id string) (storage.Session, error)
	EndSession(ctx context.Context, id string) error
}

// sessions makes, finds and ends sessions. A store that keeps them in
// memory signs everyone out when it restarts.
type sessions struct {
	ttl  time.Duration
	now  func() time.Time
	keep sessionKeeper
}

func newSessions(ttl time.Duration, now func() time.Time, keep sessionKeeper) *sessions {
	return &sessions{ttl: ttl, now: now, keep: keep}
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
func (s *sessions) create(ctx context.Context, user string, tokenHash []byte) (session, error) {
	sess := session{
		id:        randomID(),
		user:      user,
		tokenHash: tokenHash,
		csrf:      randomID(),
		expires:   s.now().Add(s.ttl),
	}
	return sess, s.put(ctx, sess)
}

func (s *sessions) put(ctx context.Context, sess session) error {
	return s.keep.PutSession(ctx, sess.id, storage.Session{
		User: sess.user, TokenHash: sess.tokenHash, CSRF: sess.csrf, Flash: sess.flash, Expires: sess.expires,
	})
}

// get returns a live session; false for one that ended or that the store
// cannot read now.
func (s *sessions) get(id string) (session, bool) {
	st, err := s.keep.Session(context.Background(), id)
	if err != nil || !s.now().Before(st.Expires) {
		return session{}, false
	}
	return session{id: id, user: st.User, tokenHash: st.TokenHash, csrf: st.CSRF, expires: st.Expires, flash: st.Flash}, true
}

func (s *sessions) delete(id string) {
	s.keep.EndSession(context.Background(), id)
}

// setFlash leaves a message for the session's next page.
func (s *sessions) setFlash(id, msg string) {
	if sess, ok := s.get(id); ok {
		sess.flash = msg
		s.put(context.Background(), sess)
	}
}

// takeFlash returns the waiting message and forgets it.
func (s *sessions) takeFlash(id string) string {
	sess, ok := s.get(id)
	if !ok || sess.flash == "" {
		return ""
	}
	msg := sess.flash
	sess.flash = ""
	s.put(context.Background(), sess)
	return msg
}
