package registry_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/provider/registry"
)

// TestREADMEListsSettings: the README's configuration table (the section
// "## Configuration", up to its first subsection) has a row for every
// setting of every provider, the variable in backquotes in the row's first
// cell, and a setting with a default shows it in the row's second.
func TestREADMEListsSettings(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
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
	// defaults: the second cell of each variable's row, by variable.
	defaults := map[string]string{}
	quoted := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "|") || len(cells) < 4 {
			continue
		}
		for _, m := range quoted.FindAllStringSubmatch(cells[1], -1) {
			defaults[m[1]] = cells[2]
		}
	}
	if len(defaults) == 0 {
		t.Fatal("README.md's configuration section has no table of variables")
	}
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			def, ok := defaults[s.Env]
			switch {
			case !ok:
				t.Errorf("README.md's configuration table does not list %s, a setting of %s", s.Env, p.Title)
			case s.Default != "" && !strings.Contains(def, "`"+s.Default+"`"):
				t.Errorf("README.md's configuration table gives %s the default %q, want `%s`", s.Env, strings.TrimSpace(def), s.Default)
			}
		}
	}
}
