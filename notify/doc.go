// Package notify warns people before certificates and the root CA expire:
// it looks at the store every interval, and posts one message per
// certificate that entered its warning window to each configured webhook
// (plain JSON, ntfy or Gotify).
//
// Each warning goes to each webhook once: what was delivered is recorded
// in the store, so a restart does not repeat it. Revoked certificates are
// never announced, nor renewed ones (a newer unrevoked certificate of the
// same owner for the same names, ending later, exists). A failed delivery
// is retried with backoff, then left for the next check; none of it runs
// on the path of issuing.
//
// Webhook URLs may hold secrets (an ntfy token, a Gotify app token), so
// logs and errors show only their scheme and host.
package notify
