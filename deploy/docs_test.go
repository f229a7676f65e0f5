package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunbookCoversEveryAlert: docs/OPERATIONS.md has a runbook heading
// for every alert rule, so that no page arrives without instructions.
func TestRunbookCoversEveryAlert(t *testing.T) {
	rules, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*-\s*alert:\s*(\S+)`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) == 0 {
		t.Fatal("no alert rules found")
	}
	for _, a := range alerts {
		if !strings.Contains(string(doc), "\n### "+a[1]+"\n") {
			t.Errorf("docs/OPERATIONS.md has no runbook entry (### %s)", a[1])
		}
	}
}

// contracting matches statements that an older release, still running
// during a rolling upgrade, may not survive.
var contracting = regexp.MustCompile(`(?i)\b(DROP\s+(TABLE|COLUMN|INDEX|CONSTRAINT|FUNCTION|TRIGGER)|RENAME\s+(TO|COLUMN)|ALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE|SET\s+NOT\s+NULL)\b`)

// TestMigrationsAreExpandOnly: a migration runs while the previous release
// still serves (docs/OPERATIONS.md, Upgrades), so it may only add. A
// contracting statement needs a `-- contract: why` line saying why no
// running release needs what it removes.
func TestMigrationsAreExpandOnly(t *testing.T) {
	files, err := filepath.Glob("../internal/store/postgres/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no PostgreSQL migrations found (%v): update this test's path if they moved", err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Only the up part runs in production; goose's down part may drop.
		text, _, _ := strings.Cut(string(raw), "-- +goose Down")
		if regexp.MustCompile(`(?m)^--\s*contract:\s*\S`).MatchString(text) {
			continue
		}
		for i, line := range strings.Split(text, "\n") {
			code, _, _ := strings.Cut(line, "--")
			if contracting.MatchString(code) {
				t.Errorf("%s:%d: %q contracts the schema while the previous release may still run; ship it a release later with a `-- contract:` line", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	for _, bad := range []string{"ALTER TABLE holds DROP COLUMN x;", "alter table seats rename to s;", "ALTER TABLE t ALTER COLUMN c TYPE text;", "ALTER TABLE t ALTER COLUMN c SET NOT NULL;"} {
		if !contracting.MatchString(bad) {
			t.Errorf("the check misses %q", bad)
		}
	}
	if contracting.MatchString("ALTER TABLE t ADD COLUMN c TEXT; CREATE INDEX i ON t (c);") {
		t.Errorf("the check refuses an expanding migration")
	}
}
