// Package validate collects field-level problems with a request so that a
// caller can report all of them at once (422 invalid_request with details).
package validate

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors maps a field name (dotted for nested fields, e.g. "seats[2].price")
// to what is wrong with it. A nil or empty Errors means the input is valid.
type Errors map[string]string

// Add records problem for field, keeping the first problem reported.
func (e *Errors) Add(field, problem string) {
	if *e == nil {
		*e = Errors{}
	}
	if _, ok := (*e)[field]; !ok {
		(*e)[field] = problem
	}
}

// Err returns e as an error, or nil when nothing was recorded.
func (e Errors) Err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

func (e Errors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("invalid request: ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + e[k])
	}
	return b.String()
}

// Text reports whether s is text a person could have typed: valid UTF-8
// without control characters (NUL, line breaks, escapes, C1 codes). Free
// text is checked with it at the edge, so that both engines see the same
// input: PostgreSQL refuses a NUL byte in text where SQLite stores it.
func Text(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
