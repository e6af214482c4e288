// Package admin holds the operator's operations (users, roots) in one
// implementation, Ops, and carries them over two transports: called directly
// on an open database, or over the unix socket a running server listens on
// (Handler on the server side, Client on the command's side). Both satisfy
// Operator, so a command does not care which one it got.
//
// The socket is the authority boundary: whoever may open it (mode 0600,
// the server's user) is an operator.
package admin
