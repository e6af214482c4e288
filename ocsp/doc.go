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
// # Bounds
//
// The responder needs no authentication, so nothing a client sends may grow
// memory or signing without bound:
//
//   - A serial longer than RFC 5280's 20 octets is malformedRequest, before
//     the Source is asked or anything is signed.
//   - Good and revoked answers are cached up to Config.MaxCache responses
//     and Config.MaxCacheBytes (estimated, headers included). Unknown
//     answers, which a client may ask for any serial, have a cache of their
//     own of 1024 responses and 1 MiB: a flood of made-up serials churns
//     that one and evicts no real answer.
//   - At most Config.MaxSigning signatures are made at once (half the CPUs
//     by default). An answer a client can make up, for an unknown serial or
//     with a nonce, waits at most 100 ms for a signer and then is tryLater;
//     a nonce request about an issued certificate gets, instead, the answer
//     without the nonce (RFC 8954 allows that; OpenSSL warns and accepts).
//     Answers about issued certificates are few (one per certificate, hash
//     algorithm and half validity) and wait up to 2 s; waiters queue in
//     arrival order, so a flood of made-up requests does not starve them.
//
// Unknown serials are still answered with a signed "unknown" (RFC 6960
// §2.2), not with the unsigned "unauthorized" that would cost nothing: the
// API promises it, and a client can trust a signed answer, where anyone on
// the path can forge an unsigned one. Its cost is what the bounds above
// allow, at most MaxSigning CPUs.
//
// # Caveats
//
// A request nonce is echoed in responseExtensions, where RFC 6960 §4.4.1 and
// OpenSSL expect it. golang.org/x/crypto/ocsp can only write (and only exposes
// when parsing) singleExtensions, so this package encodes and signs responses
// itself; x/crypto/ocsp still parses the requests and verifies in the tests.
// Responses with a nonce are signed per request and never cached, so they cost
// a signature each, within the bound on signing.
//
// GET requests carry base64 that may contain "/" and "//": mount the responder
// where the router does not clean or redirect paths (net/http.ServeMux
// redirects "//"), and it reads the escaped path itself.
package ocsp
