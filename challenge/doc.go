// Package challenge owns the proofs of control of a name: before certmaker
// issues a certificate, it checks every DNS name and IP address of the
// request in one of three ways (a Target's Method): it fetches a token over
// plain HTTP from the name (HTTP: certmaker's own challenge, ACME
// http-01), looks up a TXT record at _acme-challenge.<name> through the
// operator's DNS servers (DNS: ACME dns-01, the only proof of a wildcard's
// base name), or connects with TLS and the ALPN protocol acme-tls/1 and
// reads the certificate the name presents (TLSALPN: ACME tls-alpn-01).
//
// # Basics
//
// A Checker is built once from a Config and is safe for concurrent use.
// CheckOne proves one Target; Check proves a whole request, skipping the
// identifiers that are never validated (see Exempt) and stopping at the
// first failure. Failures are *Error values whose Reason is one of a few
// fixed sentences for an operator; it never repeats what the target sent.
//
// The path and the expected body are parameters of each Target, so the same
// fetch serves certmaker's own challenge (WellKnownPath) and ACME http-01.
// Every method shares the timeout, the slots in flight and each
// requester's fair share of them; HTTP and TLSALPN share the resolver,
// the denied networks and the allowed ports.
//
// DNS lookups are made by the checker's own small client (dnsclient.go):
// it asks Config.DNSServers (or /etc/resolv.conf's) directly over UDP,
// and TCP for a truncated answer, keeps no cache, checks that an answer
// is the one to its query (id and question), and follows CNAMEs itself,
// at most eight, so that an alias out of an authoritative server's zone is
// followed as well as a recursive resolver's whole chain.
//
// # Caveats
//
// The checker resolves names itself and dials the addresses it resolved, so
// the addresses checked against Config.DeniedNetworks are exactly the ones it
// connects to; a second lookup inside the HTTP client could answer
// differently. Redirects are never followed, environment proxies are never
// used, the body is capped, and one deadline covers lookup, connect, headers
// and body.
package challenge
