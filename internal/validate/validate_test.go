package validate

import "testing"

func TestText(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"":             true,
		"Ada Lovelace": true,
		"Zoë Ångström": true,
		"李小龙":          true,
		"Ada\x00":      false, // PostgreSQL refuses NUL in text
		"k\xffey":      false, // not UTF-8
		"tab\there":    false,
		"line\nbreak":  false,
		"del\x7f":      false,
		"c1\u009f":     false,
	} {
		if got := Text(s); got != want {
			t.Errorf("Text(%q) = %v, want %v", s, got, want)
		}
	}
}
