// Package jsonkeys refuses JSON in which an object names a key twice, for
// every door that decodes JSON with encoding/json (the API's bodies, ACME's
// payloads): one rule, so both are as strict.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// DuplicateError is a JSON object that names Key twice.
type DuplicateError struct{ Key string }

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("key %.40q appears more than once in an object", e.Key)
}

// Check refuses (*DuplicateError) a JSON value in which an object names a key
// twice. encoding/json keeps the last of duplicates and matches keys
// without regard to case, so {"domains":[...],"Domains":[...]} would sign
// what a proxy or log that reads the first one never saw. Keys are
// compared as the decoder matches them, and also without underscores,
// since older clients send Go field names ("StreetAddress" for
// "street_address"). Malformed JSON passes: the decoder says what is wrong
// with it, and where.
func Check(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	// One entry per open object or array: the keys seen so far in an
	// object, nil for an array. expectKey is true where the next string
	// token of an object is a key.
	type level struct {
		keys      map[string]bool
		expectKey bool
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // malformed JSON: the decoder says so, with its position
		}
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		if top != nil && top.keys != nil && top.expectKey {
			if k, ok := tok.(string); ok {
				c := canonicalKey(k)
				if top.keys[c] {
					return &DuplicateError{Key: k}
				}
				top.keys[c] = true
				top.expectKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.keys != nil {
				top.expectKey = true // this object is the value of the last key
			}
			stack = append(stack, level{keys: map[string]bool{}, expectKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.keys != nil {
				top.expectKey = true
			}
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.keys != nil {
			top.expectKey = true // a scalar value; a key comes next
		}
	}
}

// canonicalKey is a key as encoding/json matches it to a field (Unicode
// case folding, as bytes.EqualFold: "ſ" is "s", the Kelvin sign is "k"),
// with underscores dropped as well.
func canonicalKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		if r == '_' {
			continue
		}
		// The smallest rune of r's fold orbit stands for all of them.
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}
