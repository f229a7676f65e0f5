package config

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/provider/registry"
)

// TestREADMEListsSettings: the README's configuration table (the section
// "## Configuration", up to its first subsection) has a row for every
// setting --help prints (Settings) and every flight provider's setting
// (internal/provider/registry), the variable in backquotes in the row's
// first cell, with the same default in its second (a setting whose
// default is empty may say anything there).
func TestREADMEListsSettings(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal(`README.md has no "## Configuration" section`)
	}
	if i := strings.Index(section, "\n#"); i >= 0 {
		section = section[:i]
	}
	rows := map[string]string{} // variable → its row's second cell
	quoted := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 4 {
			continue
		}
		for _, m := range quoted.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = cells[2]
		}
	}
	if len(rows) == 0 {
		t.Fatal("README.md's configuration section has no table of variables")
	}
	check := func(name, dflt, of string) {
		t.Helper()
		def, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("README.md's configuration table does not list %s%s", name, of)
		case dflt != "" && !strings.Contains(def, "`"+dflt+"`"):
			t.Errorf("README.md's configuration table gives %s the default %q, want `%s`", name, strings.TrimSpace(def), dflt)
		}
	}
	for _, s := range Settings {
		check(s.Name, s.Default, "")
	}
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			check(s.Env, s.Default, ", a setting of "+p.Title)
		}
	}
}
