package web

import (
	"html/template"
	"strconv"
	"strings"
)

// plural says a count with its noun: "1 certificate", "3 certificates".
// Every noun the dashboard counts takes an s.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// breakable lets a long name wrap after its dots and at its @ (a <wbr>),
// never inside a label: "nas.home.lan" may end a line after "nas." but
// never as "home.la" and "n".
func breakable(name string) template.HTML {
	var b strings.Builder
	for i, part := range strings.SplitAfter(name, ".") {
		if i > 0 {
			b.WriteString("<wbr>")
		}
		b.WriteString(strings.ReplaceAll(template.HTMLEscapeString(part), "@", "<wbr>@"))
	}
	return template.HTML(b.String())
}
