// Package store keeps all of certmaker's state in one bbolt file: users and
// their hashed tokens, roots, issued certificates with their keys and
// revocations, pending challenges, and counters.
//
// Basics: every method is one transaction. Writes that answer an API call
// (issuing, revoking) are group-committed (group.go): concurrent requests
// share one transaction and one fsync, with no timer, while each still
// returns only after its data is on disk.
//
// Caveats: bbolt allows one process to open the file; the server owns it
// while it runs, and admin commands reach the server instead. Values read
// from bbolt are valid only inside their transaction, so every record is
// decoded (copied) before the transaction ends. bbolt trusts its meta
// pages and frees pages without erasing them: Open checks the meta pages
// first (meta.go), and a rekey erases the free pages at once (scrub.go),
// which is why every transaction holds db.exclusive for reading.
package store
