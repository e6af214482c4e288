// Package storage says what certmaker keeps and what a backend must do to
// keep it: the records (users, roots, certificates, challenges, ACME
// state), what the indexes mean, the sentinel errors every backend
// returns, and the Store interface the service core depends on. It imports
// no database: store is the bbolt backend, and a second backend (etcd, see
// the design notes) implements the same interface.
//
// Basics: every method is one transaction. A method that takes an update
// function (UpdateUser, UpdateACMEOrder...) runs it inside that
// transaction on a copy of the current record and stores what it leaves;
// what fn may not change, and what it changed that an index follows, are
// decided by the Edit functions (edit.go), the same for every backend.
//
// Caveats: an update function may run more than once. A distributed store
// retries a transaction that lost a race, and bbolt's group commit reruns
// the functions of a batch when one of them fails. So it must only change
// the record it is given and decide from it alone: no counters outside,
// no side effects, no I/O.
//
// Beside it: storage/seal (sealing and the key file) and storage/codec
// (the record encoding), which every backend uses unchanged so that a
// record means the same in each; and storage/storagetest, the suite every
// backend must pass.
package storage
