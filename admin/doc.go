// Package admin is the operator's door to the service core: the
// operations (users, roots, revocation, backup, listings) as the core
// implements them once, carried over two transports: called directly in
// this process (Local, on an open database), or over the unix socket a
// running server listens on (Handler on the server side, Client on the
// command's side). Both satisfy Operator, so a command does not care
// which one it got; errors keep their kind across the socket.
//
// The socket is the authority boundary: whoever may open it (mode 0600,
// the server's user) is an operator.
package admin
