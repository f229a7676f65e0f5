package main

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/provider/registry"
)

// TestHelp asks every command for help both ways: it must print to stdout,
// succeed, and do nothing else: no configuration read (HOLD_TTL is broken
// here, so reading it would fail), no database created, no migration run.
func TestHelp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "HOLD_TTL": "soon"}
	getenv := func(k string) string { return env[k] }
	singleDash := regexp.MustCompile(`(^|\s)-[a-z]{2,}`)
	for _, tt := range []struct {
		args []string
		want string // the usage line
	}{
		{[]string{"--help"}, "usage: reservd [COMMAND]"},
		{[]string{"-h"}, "usage: reservd [COMMAND]"},
		{[]string{"help"}, "usage: reservd [COMMAND]"},
		{[]string{"serve", "--help"}, "usage: reservd serve"},
		{[]string{"serve", "-h"}, "usage: reservd serve"},
		{[]string{"migrate", "--help"}, "usage: reservd migrate"},
		{[]string{"migrate", "-h"}, "usage: reservd migrate"},
		{[]string{"keys", "--help"}, "usage: reservd keys COMMAND"},
		{[]string{"keys", "-h"}, "usage: reservd keys COMMAND"},
		{[]string{"keys", "create", "--help"}, "usage: reservd keys create --name NAME [--admin]"},
		{[]string{"keys", "create", "--name", "x", "-h"}, "usage: reservd keys create --name NAME [--admin]"},
		{[]string{"help", "keys", "create"}, "usage: reservd keys create --name NAME [--admin]"},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), tt.args, getenv, &stdout, &stderr); err != nil {
			t.Errorf("run %q = %v, want help and success", tt.args, err)
			continue
		}
		out := stdout.String()
		if !strings.HasPrefix(out, tt.want) {
			t.Errorf("run %q printed %q, want it to start with %q", tt.args, out, tt.want)
		}
		if stderr.Len() > 0 {
			t.Errorf("run %q wrote to stderr: %q", tt.args, stderr.String())
		}
		if m := singleDash.FindString(out); m != "" {
			t.Errorf("run %q shows a single-dash flag %q:\n%s", tt.args, m, out)
		}
		if !strings.Contains(out, "--help") {
			t.Errorf("run %q does not mention --help:\n%s", tt.args, out)
		}
	}
	var stdout bytes.Buffer
	if err := run(t.Context(), []string{"keys", "create", "--help"}, getenv, &stdout, &stdout); err != nil ||
		!strings.Contains(stdout.String(), "--name NAME") || !strings.Contains(stdout.String(), "--admin") {
		t.Errorf("keys create --help lists no --name NAME and --admin flags (%v):\n%s", err, stdout.String())
	}
	stdout.Reset()
	if err := run(t.Context(), []string{"--help"}, getenv, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if c.setup != nil && !strings.Contains(stdout.String(), "\n  "+c.path+" ") {
			t.Errorf("reservd --help does not list %q:\n%s", c.path, stdout.String())
		}
	}
	// Every setting, with its default, from the table config checks
	// itself against.
	for _, s := range config.Settings {
		def := s.Default
		if def == "" {
			def = "unset"
		}
		if !regexp.MustCompile(`\n  ` + regexp.QuoteMeta(s.Name) + ` +` + regexp.QuoteMeta(def) + `  `).MatchString(stdout.String()) {
			t.Errorf("reservd --help does not list %s with its default %s:\n%s", s.Name, def, stdout.String())
		}
	}
	for _, p := range registry.All() {
		for _, s := range p.Settings {
			if !strings.Contains(stdout.String(), "\n  "+s.Env+" ") {
				t.Errorf("reservd --help does not list the %s setting %s", p.Title, s.Env)
			}
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
		t.Errorf("help left %v in DATA_DIR (%v), want nothing", entries, err)
	}
}

// TestUsageErrors: what reservd does not understand is a usage error (main
// exits 2) that names the culprit in reservd's spelling and where to look.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"DATA_DIR": dir}[k] }
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"; run 'reservd --help'`},
		{[]string{"--frobnicate"}, "unknown flag --frobnicate"},
		{[]string{"keys"}, "keys needs a command (create"},
		{[]string{"keys", "frob"}, `unknown command "keys frob"; run 'reservd keys --help'`},
		{[]string{"keys", "create"}, "usage: reservd keys create --name NAME"},
		{[]string{"keys", "create", "--nme", "x"}, "unknown flag --nme; run 'reservd keys create --help'"},
		{[]string{"keys", "create", "--name"}, "flag needs a value: --name"},
		{[]string{"keys", "create", "--admin=maybe", "--name", "x"}, "for flag --admin"},
		{[]string{"serve", "now"}, "serve takes no arguments"},
		{[]string{"serve", "--port", "1"}, "unknown flag --port"},
		{[]string{"migrate", "all"}, "migrate takes no arguments"},
		{[]string{"help", "frob"}, `unknown command "frob"`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), tt.args, getenv, &stdout, &stderr)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("run %q = %v, want a usage error", tt.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q = %q, want it to contain %q", tt.args, err, tt.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("run %q wrote to stdout: %q", tt.args, stdout.String())
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) > 0 {
		t.Errorf("usage errors left %v in DATA_DIR (%v), want nothing", entries, err)
	}
}
