package storage

// Repairer completes what a writer that stopped midway left unfinished
// and returns how much: on etcd, the name entries of a certificate too
// large for one transaction. Every step is idempotent, so a writer still
// at work and a repair may overlap. bbolt commits each write whole and
// needs none.
type Repairer interface {
	Repair() (int, error)
}
