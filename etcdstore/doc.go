// Package etcdstore keeps certmaker's state in an etcd cluster, so that
// several certmaker nodes can serve one CA: the same records as store (the
// bbolt file) under one key prefix, the same storage.Store contract, and
// docs/cluster.md for the layout and the reasons behind it.
//
// Basics: every method is one or more etcd transactions. A transaction
// reads at one revision, buffers its writes, and commits them only if
// nothing it read has changed since (a compare on each key's ModRevision,
// 0 for a key that must not exist); otherwise it runs again on fresh
// reads. Nothing is acknowledged before etcd has committed it on a quorum.
//
// What one process of a file keeps to itself is shared here
// (storage.Coordination, coordination.go): claims are keys created only if
// absent under the node's lease, and a claim's fenced store compares its
// key in every commit; sessions and used ACME nonces are keys with a
// lease; the roots are watched. The node keeps users by token hash, kept
// right by a watch that must have proven itself within a second
// (tokencache.go). Every write of a secret checks that the node's key
// sealed the store's check value, so that a rekey on one node reaches the
// others (rekeyed.go, rekey.go).
//
// Caveats: etcd refuses a transaction of more than 128 writes or 1.5 MiB.
// A certificate with many names is written in several transactions: the
// record and the indexes every listing needs first, with a pending marker,
// then the rest of its name entries; the writer (or any node's repair
// pass) completes them. Counts are counted by etcd from the indexes,
// never kept in counters that every issuance would fight over (the
// certificates of ACME accounts without a binding too: a key each). Jobs
// over a whole table (a rekey, a challenge sweep) run in batches that can
// be resumed; the ACME sweep reads an index by when things are due, and
// deletes each order in transactions of its own (acmesweep.go).
package etcdstore
