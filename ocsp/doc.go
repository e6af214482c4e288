// Package ocsp owns certmaker's OCSP responder: it answers RFC 6960 requests,
// sent by POST or in the RFC 5019 GET form, for the certificates the CA issued.
//
// # Basics
//
// A [Responder] is an [http.Handler] over two things the caller supplies: a
// [Source] that tells a serial's status (a cheap database read, made on every
// request) and the set of roots ([Issuer]) that may sign. The request's issuer
// name and key hashes pick the root; each certificate's response is signed by
// the root that issued it, with no delegated responder certificate, so roots
// from before a rotation keep answering for their own certificates.
//
// Signed responses are cached in memory by (root, serial, hash algorithm),
// together with the status they were signed for. Because the Source is asked on
// every request, a revocation changes the status, misses the cache and is
// signed at once; a flood of requests for an unchanged certificate costs one
// signature per half validity period.
//
// # Caveats
//
// A request nonce is echoed in responseExtensions, where RFC 6960 §4.4.1 and
// OpenSSL expect it. golang.org/x/crypto/ocsp can only write (and only exposes
// when parsing) singleExtensions, so this package encodes and signs responses
// itself; x/crypto/ocsp still parses the requests and verifies in the tests.
// Responses with a nonce are signed per request and never cached, so they cost
// a signature each.
//
// GET requests carry base64 that may contain "/" and "//": mount the responder
// where the router does not clean or redirect paths (net/http.ServeMux
// redirects "//"), and it reads the escaped path itself.
package ocsp
