// Package migrate copies a certmaker store into another backend (a bbolt
// file into etcd and back, an etcd store into a bbolt backup) and proves
// the copy: the same records, one by one, and nothing else. It works on
// storage.Items, so each backend keeps its own layout and builds its own
// indexes from the records.
package migrate

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"certmaker/storage"
)

// batch is how many records one Import takes.
const batch = 256

// Copy copies every record of src into dst, a batch at a time, and calls
// progress (if not nil) with the records copied so far after each batch.
func Copy(dst storage.Importer, src storage.Exporter, progress func(n int)) (int, error) {
	var pending []storage.Item
	n := 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := dst.Import(pending); err != nil {
			return fmt.Errorf("writing records %d to %d: %w", n+1, n+len(pending), err)
		}
		n += len(pending)
		pending = pending[:0]
		if progress != nil {
			progress(n)
		}
		return nil
	}
	err := src.Export(func(it storage.Item) error {
		pending = append(pending, it)
		if len(pending) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("copying: %w", err)
	}
	return n, nil
}

// Counts says how many records of each kind a store holds.
type Counts map[string]int

func (c Counts) String() string {
	kinds := make([]string, 0, len(c))
	for k := range c {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// Verify proves that got holds exactly the records of want: every one
// there with the same content (secrets opened), and no other. It returns
// want's counts, or an error naming the first few records that differ.
func Verify(got, want storage.Exporter) (Counts, error) {
	digests := map[string][32]byte{}
	counts := Counts{}
	err := want.Export(func(it storage.Item) error {
		kind, id, sum, err := digest(it)
		if err != nil {
			return err
		}
		counts[kind]++
		digests[kind+" "+id] = sum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the original: %w", err)
	}
	var problems []string
	gotCounts := Counts{}
	err = got.Export(func(it storage.Item) error {
		kind, id, sum, err := digest(it)
		if err != nil {
			return err
		}
		gotCounts[kind]++
		k := kind + " " + id
		w, ok := digests[k]
		switch {
		case !ok:
			problems = append(problems, k+" is in the copy only")
		case w != sum:
			problems = append(problems, k+" differs")
		}
		delete(digests, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the copy: %w", err)
	}
	for k := range digests {
		problems = append(problems, k+" is missing from the copy")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		more := ""
		if len(problems) > 5 {
			more = fmt.Sprintf(" (and %d more)", len(problems)-5)
			problems = problems[:5]
		}
		return counts, fmt.Errorf("the copy differs (original: %s; copy: %s): %s%s", counts, gotCounts, strings.Join(problems, "; "), more)
	}
	return counts, nil
}

// digest names an item (kind and identity) and hashes its content, with
// every time in UTC: backends may give the same instant another zone.
func digest(it storage.Item) (kind, id string, sum [32]byte, err error) {
	switch {
	case it.User != nil:
		kind, id = "users", it.User.Name
	case it.Root != nil:
		kind, id = "roots", it.Root.Fingerprint
	case it.Certificate != nil:
		kind, id = "certificates", it.Certificate.Serial.Text(16)
	case it.Challenge != nil:
		kind, id = "challenges", it.Challenge.ID
	case it.ACMEAccount != nil:
		kind, id = "acme accounts", it.ACMEAccount.ID
	case it.ACMEOrder != nil:
		kind, id = "acme orders", it.ACMEOrder.ID
	case it.ACMEEAB != nil:
		kind, id = "acme eab keys", it.ACMEEAB.ID
	case it.ACMENonceKey != nil:
		kind, id = "acme nonce key", ""
	case it.Announcement != nil:
		kind, id = "announcements", fmt.Sprintf("%x", it.Announcement.Key)
	case it.CRLNumber != nil:
		kind, id = "crl numbers", it.CRLNumber.Root
	case it.UnboundACMECertificates != nil:
		kind, id = "acme unbound certificates", ""
	default:
		return "", "", sum, fmt.Errorf("an empty record")
	}
	v := reflect.ValueOf(&it).Elem()
	utc(v)
	b, err := json.Marshal(struct {
		Item   storage.Item
		Serial string
	}{it, id})
	if err != nil {
		return "", "", sum, err
	}
	return kind, id, sha256.Sum256(b), nil
}

var timeType = reflect.TypeFor[time.Time]()

// utc sets every time.Time reachable from v to UTC, through pointers,
// slices and structs (the records are trees: no cycles).
func utc(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			utc(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			utc(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				utc(v.Field(i))
			}
		}
	}
}
