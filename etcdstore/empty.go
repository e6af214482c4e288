package etcdstore

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ErrNotEmpty is a prefix that holds more than a new store: a migration
// into it would mix two CAs.
var ErrNotEmpty = errors.New("not empty")

// checkEmpty refuses a prefix that holds any key but a new store's schema
// and check value (what Open with Create writes before anything else),
// naming what it found: the keys of meta/, how many of each other table,
// and any key outside this layout (another version's, someone else's).
func (db *DB) checkEmpty(prefix string) error {
	allowed := map[string]bool{db.key(tMeta, kSchema): true, db.key(tMeta, kSealCheck): true}
	found := map[string]int{}
	total := 0
	err := db.view(func(t *tx) error {
		return t.each(prefix, prefixEnd(prefix), func(k string, _ []byte) error {
			if allowed[k] {
				return nil
			}
			total++
			found[group(strings.TrimPrefix(k, prefix), strings.TrimPrefix(db.prefix, prefix))]++
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("reading what %s holds: %w", db.where, err)
	}
	if total == 0 {
		return nil
	}
	names := make([]string, 0, len(found))
	for g := range found {
		names = append(names, g)
	}
	sort.Strings(names)
	const most = 8
	parts := make([]string, 0, most+1)
	for i, g := range names {
		if i == most {
			parts = append(parts, "and "+strconv.Itoa(len(names)-most)+" more")
			break
		}
		if n := found[g]; n > 1 {
			g += " (" + strconv.Itoa(n) + " keys)"
		}
		parts = append(parts, g)
	}
	return fmt.Errorf("%s is %w: it holds %d %s besides a new store's schema and check value: %s (choose another prefix, or delete these keys if they are no CA's)",
		db.where, ErrNotEmpty, total, plural(total, "key"), strings.Join(parts, ", "))
}

// group names what key (relative to the prefix) belongs to: a key of
// meta/ by itself, another of this layout by its table, any other key
// whole.
func group(rel, layout string) string {
	in, ok := strings.CutPrefix(rel, layout)
	if !ok {
		return strconv.Quote(rel)
	}
	if strings.HasPrefix(in, tMeta) {
		return in
	}
	if i := strings.IndexByte(in, '/'); i >= 0 {
		return in[:i+1]
	}
	return strconv.Quote(in)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
