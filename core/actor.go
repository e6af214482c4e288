package core

import "crypto"

// Door names the way a request came in, for the audit trail.
type Door string

// The doors.
const (
	DoorAPI   Door = "api"
	DoorACME  Door = "acme"
	DoorWeb   Door = "web"
	DoorAdmin Door = "admin" // the admin socket, or an admin command on the file
	DoorServe Door = "serve" // the server itself: the first root and user
)

// Actor is who asks, as its door established it: a user authenticated by
// token, session or ACME account, or the operator (the admin door, which
// filesystem permissions admit).
type Actor struct {
	Door Door
	// User is the certmaker user acting; for the operator, how the door
	// knows them (e.g. "uid 1000").
	User string
	// Admin users may see and revoke every user's certificates (not read
	// their keys).
	Admin bool
	// Account is the ACME account acting, if any: it may revoke what it
	// ordered.
	Account string
	// Unbound is an ACME account without an External Account Binding: it
	// acts for the default user, as does anyone who makes one, so it acts
	// on no certificate of that user but those it ordered itself.
	Unbound bool
	// Key is the public key a request was signed with when it was not an
	// account's (ACME revocation by the certificate's own key).
	Key crypto.PublicKey
	// For is the user an operator issues a certificate for (`certmaker
	// cert issue --user`): its owner, held to that user's policy. Only
	// the operator may act for another user.
	For string
}

// owner is the user a certificate the actor asks for belongs to.
func (a Actor) owner() string {
	if a.For != "" && a.operator() {
		return a.For
	}
	return a.User
}

// Operator is the actor of an admin command.
func Operator(who string) Actor { return Actor{Door: DoorAdmin, User: who} }

// operator reports whether a is not bound by the owner rule.
func (a Actor) operator() bool { return a.Door == DoorAdmin || a.Door == DoorServe }

// who names the actor in the audit trail.
func (a Actor) who() string {
	switch {
	case a.User != "":
		return a.User
	case a.Key != nil:
		return "holder of the certificate's key"
	}
	return "unknown"
}
