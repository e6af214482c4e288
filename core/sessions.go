package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"

	"certmaker/storage"
)

// Dashboard sessions are kept by the store (storage.Coordination): in
// memory for a file, in the cluster for etcd, so that whichever node a
// signed-in browser reaches knows it. The dashboard makes and checks
// them; the core only keeps them.

// PutSession keeps a session under its id until it expires.
func (s *Service) PutSession(ctx context.Context, id string, sess storage.Session) error {
	return s.noteWrite(ctx, s.store.PutSession([]byte(id), sess))
}

// Session reads a session; NotFound once it ended.
func (s *Service) Session(ctx context.Context, id string) (storage.Session, error) {
	sess, err := s.store.Session([]byte(id))
	return sess, s.noteReach(ctx, err)
}

// DashboardKey is what the dashboard signs its sign-in form tokens with,
// the same on every node of the store (a form a node served is posted to
// whichever node the balancer picks): derived from the store's sealed
// ACME nonce key under a label of its own, so that one secret serves
// both, apart.
func (s *Service) DashboardKey() ([]byte, error) {
	k, err := s.store.ACMENonceKey()
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("certmaker dashboard form key"))
	return m.Sum(nil), nil
}

// EndSession ends a session on every node.
func (s *Service) EndSession(ctx context.Context, id string) error {
	return s.noteWrite(ctx, s.store.DeleteSession([]byte(id)))
}
