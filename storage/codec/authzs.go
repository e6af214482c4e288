package codec

import (
	"fmt"
	"time"

	"certmaker/storage"
)

// OwnAuthzs decodes the stored authorizations of o (vals[i] that of
// o.Authzs[i], nil for one no longer stored) and keeps those o made, not
// those it reused from an earlier order; latest is when the last of them
// expires. What the sweep deletes with an order, in every backend.
func OwnAuthzs(o *storage.ACMEOrder, vals [][]byte) (own []storage.ACMEAuthz, latest time.Time, err error) {
	for i, v := range vals {
		if v == nil {
			continue
		}
		var az storage.ACMEAuthz
		if err := Decode(v, &az); err != nil {
			return nil, latest, fmt.Errorf("ACME authorization %q: %w", o.Authzs[i], err)
		}
		if az.Order != o.ID {
			continue // reused from another order: that one's
		}
		own = append(own, az)
		if az.Expires.After(latest) {
			latest = az.Expires
		}
	}
	return own, latest, nil
}
