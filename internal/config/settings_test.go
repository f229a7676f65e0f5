package config

import (
	"reflect"
	"slices"
	"testing"

	"github.com/reservd/reservd/internal/provider/registry"
)

// TestSettingsMatchLoad keeps the help's table and Load together: Load
// reads exactly the table's variables (besides the providers'), and giving
// a setting its listed default changes nothing.
func TestSettingsMatchLoad(t *testing.T) {
	t.Parallel()
	read := map[string]bool{}
	if _, err := Load(func(k string) string { read[k] = true; return "" }); err != nil {
		t.Fatalf("Load with no environment: %v", err)
	}
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			delete(read, s.Env)
		}
	}
	var listed []string
	for _, s := range Settings {
		listed = append(listed, s.Name)
		if !read[s.Name] {
			t.Errorf("config.Settings lists %s, which Load does not read", s.Name)
		}
	}
	for name := range read {
		if !slices.Contains(listed, name) {
			t.Errorf("Load reads %s, which config.Settings (the --help table) does not list", name)
		}
	}
	unset, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		if s.Default == "" {
			continue
		}
		c, err := Load(env(map[string]string{s.Name: s.Default}))
		if err != nil {
			t.Errorf("%s=%q, its listed default: %v", s.Name, s.Default, err)
			continue
		}
		if !reflect.DeepEqual(c, unset) {
			t.Errorf("%s=%q (its listed default) loads %+v, but leaving it unset loads %+v", s.Name, s.Default, c, unset)
		}
	}
}
