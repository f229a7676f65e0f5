// Command mutate is reservd's mutation check (`make mutate`): it applies
// hand-written mutations of the integrity-critical code, one at a time, each
// in a throwaway copy of the tree, runs the tests that should notice, and
// fails unless every mutation makes them fail. A surviving mutation is a
// check that cannot fail: add or fix the test that should have caught it.
//
// Each mutation is located by an exact snippet that must occur exactly once
// across its glob of files, so that moving code between files (the store is
// cut by noun) does not lose it; a snippet found zero or several times stops
// the run before anything is mutated — update the snippet, never drop the
// mutation.
//
//	go run ./tools/mutate            # every mutation
//	go run ./tools/mutate -run fence # those whose name matches
//	go run ./tools/mutate -list      # print them
//
// Before the mutations it runs each distinct test set once on the unmutated
// copy (-baseline=false skips that), since a suite failing anyway would
// "kill" every mutation.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// mutation is one hand change of the code and the tests that must fail.
type mutation struct {
	name string
	glob string // files to search, relative to the module root
	from string // exact snippet, found exactly once across glob
	to   string
	// test is the go test arguments (packages and -run) that must fail.
	test []string
}

var (
	pgConformance     = []string{"-run", "^TestConformance$", "./internal/store/postgres/"}
	sqliteConformance = []string{"-run", "^TestConformance$", "./internal/store/sqlite/"}
)

// mutations are the integrity-critical places: the predicate that grants a
// seat, row locking, the idempotency claim and its retention, fencing of a
// booking by its payment attempt, and the sweeper's release of fast-path keys.
var mutations = []mutation{
	{
		name: "postgres/free-seat-predicate: a live hold's seat counts as free",
		glob: "internal/store/postgres/*.go",
		from: "freeSeat = `(s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= now()))`",
		to:   "freeSeat = `(s.booking_id IS NULL AND (s.hold_id IS NULL OR s.held_until <= now() + interval '1 day'))`",
		test: pgConformance,
	},
	{
		name: "sqlite/free-seat-predicate: a held seat counts as free",
		glob: "internal/store/sqlite/*.go",
		from: "return `(` + s + `booking_id IS NULL AND (` + s + `hold_id IS NULL OR ` + s + `held_until <= ` + now + `))`",
		to:   "return `(` + s + `booking_id IS NULL)`",
		test: sqliteConformance,
	},
	{
		name: "postgres/hold-for-update: the hold transaction reads its seats without locking them",
		glob: "internal/store/postgres/*.go",
		from: "\t\tORDER BY s.label\n\t\tFOR UPDATE OF s`, h.FlightID, labels, h.TTL)",
		to:   "\t\tORDER BY s.label`, h.FlightID, labels, h.TTL)",
		test: []string{"-run", "^(TestConformance|TestThreeInstancesRedisDown)$", "./internal/store/postgres/", "./internal/lincheck/"},
	},
	{
		name: "postgres/batch-for-update: a batch reads its seats without locking them",
		glob: "internal/store/postgres/*.go",
		from: "\t\t\tORDER BY s.flight_id, s.label\n\t\t\tFOR UPDATE OF s`, lockFlights, lockLabels)",
		to:   "\t\t\tORDER BY s.flight_id, s.label`, lockFlights, lockLabels)",
		test: []string{"-run", "^(TestConformance|TestThreeInstancesRedisDown)$", "./internal/store/postgres/", "./internal/lincheck/"},
	},
	{
		name: "postgres/idempotency-claim: a key whose request is still running is taken over",
		glob: "internal/store/postgres/*.go",
		from: "\t\tcase live:\n\t\t\tout = idempotency.Claim{Outcome: idempotency.InFlight}",
		to:   "\t\tcase false && live:\n\t\t\tout = idempotency.Claim{Outcome: idempotency.InFlight}",
		test: pgConformance,
	},
	{
		name: "sqlite/idempotency-claim: a key whose request is still running is taken over",
		glob: "internal/store/sqlite/*.go",
		from: "\t\tcase storedLease > now:\n\t\t\tout = idempotency.Claim{Outcome: idempotency.InFlight}",
		to:   "\t\tcase false && storedLease > now:\n\t\t\tout = idempotency.Claim{Outcome: idempotency.InFlight}",
		test: sqliteConformance,
	},
	{
		name: "postgres/idempotency-retention: cleanup deletes every key, whatever its age",
		glob: "internal/store/postgres/*.go",
		from: "`DELETE FROM idempotency_keys WHERE created_at <= now() - $1::interval`, age)",
		to:   "`DELETE FROM idempotency_keys WHERE $1::interval IS NOT NULL`, age)",
		test: pgConformance,
	},
	{
		name: "sqlite/idempotency-retention: cleanup deletes every key, whatever its age",
		glob: "internal/store/sqlite/*.go",
		from: "`DELETE FROM idempotency_keys WHERE created_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)`,",
		to:   "`DELETE FROM idempotency_keys WHERE ?1 IS NOT NULL`,",
		test: sqliteConformance,
	},
	{
		name: "postgres/booking-fence: a superseded payment attempt may still book",
		glob: "internal/store/postgres/*.go",
		from: "\t\tcase cur.State != store.PaymentPending || cur.Attempt != p.Attempt:",
		to:   "\t\tcase cur.State != store.PaymentPending:",
		test: []string{"./internal/store/postgres/", "./internal/reserve/"},
	},
	{
		name: "sqlite/booking-fence: a superseded payment attempt may still book",
		glob: "internal/store/sqlite/*.go",
		from: "\t\tif pay.State != store.PaymentPending || pay.Attempt != p.Attempt {",
		to:   "\t\tif pay.State != store.PaymentPending {",
		test: []string{"./internal/store/sqlite/", "./internal/reserve/"},
	},
	{
		name: "reserve/sweeper-release: the sweeper leaves expired holds' fast-path keys",
		glob: "internal/reserve/*.go",
		from: "\t\tfor _, h := range swept {\n\t\t\ts.release(ctx, h.FlightID, h.Seats, h.ID)\n",
		to:   "\t\tfor _, h := range swept {\n",
		test: []string{"./internal/reserve/"},
	},
}

func main() {
	run := flag.String("run", "", "only the mutations whose name matches this regexp")
	list := flag.Bool("list", false, "list the mutations and exit")
	baseline := flag.Bool("baseline", true, "first run each test set on the unmutated tree")
	timeout := flag.Duration("timeout", 10*time.Minute, "go test -timeout for each run")
	flag.Parse()
	if err := mutate(*run, *list, *baseline, *timeout, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(1)
	}
}

func mutate(filter string, list, baseline bool, timeout time.Duration, out io.Writer) error {
	re, err := regexp.Compile(filter)
	if err != nil {
		return err
	}
	var chosen []mutation
	for _, m := range mutations {
		if re.MatchString(m.name) {
			chosen = append(chosen, m)
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("no mutation matches %q", filter)
	}
	if list {
		for _, m := range chosen {
			fmt.Fprintf(out, "%s\n\tin %s; go test %s\n", m.name, m.glob, strings.Join(m.test, " "))
		}
		return nil
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	files, err := treeFiles(root)
	if err != nil {
		return err
	}
	// Locate every mutation before running anything: a stale snippet stops
	// the run at once.
	where := make([]string, len(chosen))
	var stale []string
	for i, m := range chosen {
		if where[i], err = locate(root, m); err != nil {
			stale = append(stale, err.Error())
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("cannot locate %d mutation(s); update their snippets in tools/mutate:\n  %s", len(stale), strings.Join(stale, "\n  "))
	}

	// One throwaway copy of the tree serves every run: each mutation is
	// written into it and undone afterwards, so that go test recompiles only
	// what the mutation touched. The real tree is never written.
	dir, err := os.MkdirTemp("", "reservd-mutate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, f := range files {
		if err := copyFile(filepath.Join(root, f), filepath.Join(dir, f)); err != nil {
			return err
		}
	}

	if baseline {
		seen := map[string]bool{}
		for _, m := range chosen {
			k := strings.Join(m.test, " ")
			if seen[k] {
				continue
			}
			seen[k] = true
			fmt.Fprintf(out, "baseline: go test %s\n", k)
			failed, log, err := inCopy(dir, "", "", "", m.test, timeout)
			if err != nil {
				return err
			}
			if failed {
				os.Stderr.Write(log) // #nosec G104 -- showing the failing log on the way to returning an error; nothing to do if stderr fails
				return fmt.Errorf("baseline: go test %s fails on the unmutated tree; fix that first", k)
			}
		}
	}

	killed := 0
	var survivors []string
	for i, m := range chosen {
		start := time.Now()
		failed, _, err := inCopy(dir, where[i], m.from, m.to, m.test, timeout)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		verdict := "killed"
		if failed {
			killed++
		} else {
			verdict = "SURVIVED"
			survivors = append(survivors, m.name)
		}
		fmt.Fprintf(out, "%-8s %s (%s, %s)\n", verdict, m.name, where[i], time.Since(start).Round(time.Second))
	}
	fmt.Fprintf(out, "mutation score: %d/%d killed\n", killed, len(chosen))
	if len(survivors) > 0 {
		return fmt.Errorf("%d mutation(s) survived, their tests cannot see them:\n  %s", len(survivors), strings.Join(survivors, "\n  "))
	}
	return nil
}

// locate returns the one file under m.glob holding m.from exactly once.
func locate(root string, m mutation) (string, error) {
	paths, err := filepath.Glob(filepath.Join(root, m.glob))
	if err != nil {
		return "", fmt.Errorf("%s: glob %s: %w", m.name, m.glob, err)
	}
	var hits []string
	total := 0
	for _, p := range paths {
		b, err := os.ReadFile(p) // #nosec G304 -- a repository file matched by a glob of the mutation table
		if err != nil {
			return "", err
		}
		if n := bytes.Count(b, []byte(m.from)); n > 0 {
			rel, _ := filepath.Rel(root, p)
			hits, total = append(hits, rel), total+n
		}
	}
	if total != 1 {
		return "", fmt.Errorf("%s: its snippet occurs %d times in %s (%s), want exactly once", m.name, total, m.glob, strings.Join(hits, ", "))
	}
	return hits[0], nil
}

// inCopy replaces from by to in file (none when file is "") of the copy
// of the tree in dir, checks that it builds, runs go test with args there,
// and puts the file back. failed reports whether the tests failed.
func inCopy(dir, file, from, to string, args []string, timeout time.Duration) (failed bool, log []byte, err error) {
	if file != "" {
		p := filepath.Join(dir, file)
		orig, err := os.ReadFile(p) // #nosec G304 -- a file of the temporary copy of the tree, named by the mutation table
		if err != nil {
			return false, nil, err
		}
		if err := os.WriteFile(p, bytes.Replace(orig, []byte(from), []byte(to), 1), 0o644); err != nil { // #nosec G306 G703 -- rewrites an existing file of the temporary copy (the mode applies only on create), named by the mutation table
			return false, nil, err
		}
		defer func() {
			if werr := os.WriteFile(p, orig, 0o644); werr != nil && err == nil { // #nosec G306 G703 -- restores an existing file of the temporary copy (the mode applies only on create), named by the mutation table
				err = werr
			}
		}()
	}
	ctx := context.Background()
	// A mutation that does not compile proves nothing: stop loudly.
	vet := exec.CommandContext(ctx, "go", append([]string{"vet"}, packages(args)...)...) // #nosec G204 -- runs go vet on packages named by the mutation table
	vet.Dir = dir
	if b, err := vet.CombinedOutput(); err != nil {
		return false, b, fmt.Errorf("the mutated tree does not build or vet: %v\n%s", err, b)
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"test", "-count=1", "-timeout", timeout.String()}, args...)...) // #nosec G204 -- runs go test with arguments from the mutation table
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return false, b, nil
	case errors.As(err, &exit):
		return true, b, nil
	default:
		return false, b, err
	}
}

// packages picks the package patterns out of go test arguments.
func packages(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-run":
			i++
		case strings.HasPrefix(args[i], "./"):
			out = append(out, args[i])
		}
	}
	return out
}

// treeFiles lists the files of the working tree git would keep: tracked
// and untracked-but-not-ignored, so uncommitted work is mutated too.
func treeFiles(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files: %w", err)
	}
	var out []string
	for _, f := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
		if st, err := os.Lstat(filepath.Join(root, f)); err == nil && st.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out, nil
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	in, err := os.Open(src) // #nosec G304 -- copies the repository's own tracked files into a temporary tree
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm()) // #nosec G304 -- a file of the temporary copy, keeping the original's mode
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close() // #nosec G104 -- already returning the copy error; a failed close adds nothing to it
		return err
	}
	return o.Close()
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the reservd module")
	}
	return filepath.Dir(mod), nil
}
