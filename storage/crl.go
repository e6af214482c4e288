package storage

import "time"

// AgreedCRL is the CRL of a root's leaves that the processes of a store
// agreed to sign: for one revocation generation, one number and one
// thisUpdate, so that every process signs the same list under the same
// number, and a CRL fetched from any of them never has a lower number
// than one fetched before from another. Number 0 is none agreed yet.
type AgreedCRL struct {
	Number     uint64    `json:"-"`
	Gen        uint64    `json:"gen"`
	ThisUpdate time.Time `json:"this_update"`
}
