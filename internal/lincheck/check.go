package lincheck

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Check annotates history (see Annotate) and checks it against Model within
// timeout. When the answer is not porcupine.Ok (Illegal, or Unknown after
// the timeout) it writes porcupine's visualization of the history and of the
// longest linearizations it found to vizPath, creating its directory, and
// returns the path written.
func Check(history []porcupine.Operation, timeout time.Duration, vizPath string) (porcupine.CheckResult, string, error) {
	model := Model()
	res, info := porcupine.CheckOperationsVerbose(model, Annotate(history), timeout)
	if res == porcupine.Ok {
		return res, "", nil
	}
	if err := os.MkdirAll(filepath.Dir(vizPath), 0o750); err != nil {
		return res, "", err
	}
	if err := porcupine.VisualizePath(model, info, vizPath); err != nil {
		return res, "", fmt.Errorf("write visualization: %w", err)
	}
	return res, vizPath, nil
}

// ArtifactPath returns artifacts/<name> under the module root, the first
// directory at or above the working directory holding go.mod.
func ArtifactPath(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "artifacts", name), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("lincheck: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// Explain describes the first group whose history is not linearizable: its
// operations in call order, and the longest linearization the checker found
// with the model's state after each step. It returns "" when every group's
// history is linearizable (or undecided within timeout).
func Explain(history []porcupine.Operation, timeout time.Duration) string {
	model := Model()
	for _, part := range Partition(Annotate(history)) {
		res, info := porcupine.CheckOperationsVerbose(model, part, timeout)
		if res != porcupine.Illegal {
			continue
		}
		in := part[0].Input.(Input)
		var b strings.Builder
		fmt.Fprintf(&b, "flight %d row %d: %d operations, not linearizable\n", in.Flight, in.Group+1, len(part))
		sorted := slices.Clone(part)
		slices.SortStableFunc(sorted, func(x, y porcupine.Operation) int { return cmp.Compare(x.Call, y.Call) })
		for _, op := range sorted {
			fmt.Fprintf(&b, "  client %2d [%s, %s] %s\n", op.ClientId, ms(op.Call), ms(op.Return), describeOperation(op.Input, op.Output))
		}
		var longest []porcupine.Operation
		for _, l := range info.PartialLinearizationsOperations()[0] {
			if len(l) > len(longest) {
				longest = l
			}
		}
		fmt.Fprintf(&b, "longest linearization (%d of %d operations):\n", len(longest), len(part))
		states := []State{{}}
		for _, op := range longest {
			var next []State
			for _, s := range states {
				next = append(next, Step(s, op.Input.(Input), op.Output.(Output))...)
			}
			states = next
			var ds []string
			for _, s := range states {
				ds = append(ds, describeState(s))
			}
			fmt.Fprintf(&b, "  client %2d %s ⇒ {%s}\n", op.ClientId, describeOperation(op.Input, op.Output), strings.Join(ds, " | "))
		}
		return b.String()
	}
	return ""
}

func ms(t int64) string {
	if t == math.MaxInt64 {
		return "∞"
	}
	return fmt.Sprintf("%.3fms", float64(t)/1e6)
}
