// Package ca owns the cryptography of certmaker: root certificates and their
// keys, the keys it generates for simple requests, CSR checks, serial numbers,
// the leaf certificate profile and CRLs.
//
// It knows nothing of HTTP or of how records are stored: callers hand it
// requests and persist what it returns.
package ca
