package acme

import (
	"mime"
	"strconv"
	"strings"
)

// accepts reports whether Accept header values allow media type want
// (RFC 9110 12.5.1): no header (or none that parses) accepts anything;
// otherwise want itself, its type's "type/*" or "*/*" must be listed
// without q=0.
func accepts(values []string, want string) bool {
	major, _, _ := strings.Cut(want, "/")
	parsed := false
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			parsed = true
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			if mt == want || mt == "*/*" || mt == major+"/*" {
				return true
			}
		}
	}
	return !parsed
}
