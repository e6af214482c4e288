package storage

import "time"

// ExpiryQuery asks how certificates' ends fall into consecutive periods
// after Now, for a chart of what expires when.
type ExpiryQuery struct {
	Owner string // "" for everyone's
	// Now divides expired (not-after at or before it) from valid.
	Now time.Time
	// Bounds are the ascending ends of the periods: period 0 runs from
	// Now to Bounds[0], period i from Bounds[i-1] to Bounds[i].
	Bounds []time.Time
	// Max bounds the work: index entries read for everyone's, records
	// read for one owner's.
	Max int
}

// ExpiryCounts are the answer to an ExpiryQuery. Together they count every
// certificate (of the owner) once.
type ExpiryCounts struct {
	Expired int   // unrevoked, ended at or before Now
	Periods []int // unrevoked, ending in each period
	Later   int   // unrevoked, ending after the last bound
	Revoked int
	// Uncounted were not looked at because Max was reached.
	Uncounted int
}
