package etcdstore

// Retries is how many transactions this node ran again because another
// writer changed what they read before they committed. Writes of
// different records share no key, so issuing distinct certificates on
// any number of nodes retries none: a shared counter would show here
// (TestConcurrentIssuance).
func (db *DB) Retries() int64 { return db.retries.Load() }
