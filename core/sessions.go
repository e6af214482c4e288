package core

import (
	"context"

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

// EndSession ends a session on every node.
func (s *Service) EndSession(ctx context.Context, id string) error {
	return s.noteWrite(ctx, s.store.DeleteSession([]byte(id)))
}
