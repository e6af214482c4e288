// Package kindtest checks a door's one table from the core's error kinds
// to its own form: an entry for every kind core.Kinds lists.
package kindtest

import (
	"testing"

	"certmaker/core"
)

// Covers fails t for each kind table lacks, or has beyond core.Kinds, and
// hands every entry to check, which says whether the door renders that
// kind as its table says.
func Covers[V any](t *testing.T, table map[core.Kind]V, check func(k core.Kind, v V)) {
	t.Helper()
	for _, k := range core.Kinds() {
		v, ok := table[k]
		if !ok {
			t.Errorf("kind %s has no entry", k)
			continue
		}
		check(k, v)
	}
	if len(table) != len(core.Kinds()) {
		t.Errorf("the table has %d entries for %d kinds", len(table), len(core.Kinds()))
	}
}
