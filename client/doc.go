// Package client talks to a certmaker server over its HTTP API, as a
// script on another machine would: it requests a certificate (the server's
// key, or a CSR for a key that never leaves this machine), proves its names
// when the server asks for a challenge, and keeps a certificate and key
// pair on disk fresh (Renewal). It knows nothing of the server's insides;
// `certmaker get` is its command line.
package client
