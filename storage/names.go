package storage

import (
	"slices"
	"strings"
)

// ReverseName writes a name's labels in reverse ("a.home.lan" is
// "lan.home.a"), so that everything under a name shares a key prefix in
// the name index; "" for a name that cannot be a key.
func ReverseName(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return ""
	}
	labels := strings.Split(name, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}
