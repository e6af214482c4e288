// Package core is certmaker's service core, in the role of Boulder's
// registration authority: every door (the HTTP API, ACME, the dashboard,
// the admin socket and the admin commands on the file) calls it with
// domain values (an actor, a serial, a reason code) and it owns every rule
// once: who may act (an enabled user, the owner of a certificate, an
// admin, the operator), what a request may ask for (challenges, the
// proven-domain rule for email addresses, name constraints, validity),
// the limits (RSA key-generation slots, one solve of a challenge at a
// time), ACME's accounts, orders, authorizations and finalize (acme.go),
// every write (a full disk is Full, a storage cluster that does not answer
// Unavailable, each logged once per episode), the
// metrics, and the audit trail: one structured line per state change,
// saying who, through which door, what, and how it ended.
//
// Errors carry a Kind (errors.go; Kinds lists them); each door maps every
// kind to its own form with one table. Storage is an interface (storage.Store), signing is ca,
// proving names is challenge.
package core
