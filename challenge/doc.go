// Package challenge owns the HTTP ownership check: before certmaker issues a
// certificate, it fetches a token over plain HTTP from every DNS name and IP
// address of the request and compares it with the token it handed out.
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
