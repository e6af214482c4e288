package acme

import (
	"mime"
	"strconv"
	"strings"
)

// accepts reports whether Accept header values allow media type want
// (RFC 9110 12.5.1): no header (or none that parses) accepts anything;
// otherwise the most specific range that matches want decides (want
// itself, then its "type/*", then "*/*"), and it must not have q=0. Of
// equally specific ranges the highest q counts.
func accepts(values []string, want string) bool {
	major, _, _ := strings.Cut(want, "/")
	parsed := false
	best, bestQ := 0, 0.0 // specificity of the best match, and its q
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			parsed = true
			spec := 0
			switch mt {
			case want:
				spec = 3
			case major + "/*":
				spec = 2
			case "*/*":
				spec = 1
			default:
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					q = 0 // a weight that does not parse allows nothing
				}
			}
			if spec > best || spec == best && q > bestQ {
				best, bestQ = spec, q
			}
		}
	}
	if !parsed {
		return true
	}
	return best > 0 && bestQ > 0
}
