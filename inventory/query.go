package inventory

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// QueryFromURL reads a Query from URL parameters: user, revoked=true,
// expiring=14d, name (".home.lan" for everything under it), limit,
// cursor. Both the API and the admin socket use it.
func QueryFromURL(v url.Values) (Query, error) {
	q := Query{Owner: v.Get("user"), Cursor: v.Get("cursor"), Name: v.Get("name")}
	if q.Name != "" {
		if _, _, err := NameQuery(q.Name); err != nil {
			return q, err
		}
	}
	switch r := v.Get("revoked"); r {
	case "", "false", "0":
	case "true", "1":
		q.Revoked = true
	default:
		return q, fmt.Errorf("%w: revoked=%.20q (want true or false)", ErrInvalid, r)
	}
	var err error
	if q.Expiring, err = ParseWindow(v.Get("expiring")); err != nil {
		return q, err
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			return q, fmt.Errorf("%w: limit %.20q (want 1 to %d)", ErrInvalid, l, MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// URLValues is the inverse of QueryFromURL.
func (q Query) URLValues() url.Values {
	v := url.Values{}
	if q.Owner != "" {
		v.Set("user", q.Owner)
	}
	if q.Revoked {
		v.Set("revoked", "true")
	}
	if q.Expiring > 0 {
		v.Set("expiring", strconv.FormatInt(int64(q.Expiring/time.Minute), 10)+"m")
	}
	if q.Name != "" {
		v.Set("name", q.Name)
	}
	if q.Limit != 0 {
		// A bad limit too: the other side refuses it as it would here.
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	return v
}
