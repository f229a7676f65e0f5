package lincheck_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/reservd/reservd/internal/lincheck"
)

// Seats of group 0: 1A, 1B, 1C.
const (
	seatA uint8 = 1 << iota
	seatB
	seatC
)

const never = math.MaxInt64

func op(client int, call, ret int64, in lincheck.Input, out lincheck.Output) porcupine.Operation {
	in.Flight = 1
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

func hold(seats uint8) lincheck.Input { return lincheck.Input{Kind: lincheck.OpHold, Seats: seats} }
func on(k lincheck.Kind, h int32) lincheck.Input {
	return lincheck.Input{Kind: k, Hold: h}
}

func granted(h int32, seats uint8) lincheck.Output {
	return lincheck.Output{Status: 201, Hold: h, Seats: seats}
}

func refused(taken uint8) lincheck.Output {
	return lincheck.Output{Status: 409, Code: "seats_unavailable", Seats: taken}
}

func view(v string) lincheck.Output {
	out := lincheck.Output{Status: 200}
	copy(out.View[:], v)
	return out
}

var (
	readSeats = lincheck.Input{Kind: lincheck.OpReadSeats}
	unknown   = lincheck.Output{Unknown: true}
)

// TestCheckerRejectsDoubleHold feeds the checker a hand-made history in which
// two overlapping holds are both granted seat 1A: the checker must call it
// illegal, and write its visualization.
func TestCheckerRejectsDoubleHold(t *testing.T) {
	t.Parallel()
	history := []porcupine.Operation{
		op(0, 0, 10, hold(seatA), granted(1, seatA)),
		op(1, 5, 15, hold(seatA|seatB), granted(2, seatA|seatB)),
		op(2, 20, 30, readSeats, view("hha")),
	}
	path := filepath.Join(t.TempDir(), "lincheck-double-hold.html")
	res, written, err := lincheck.Check(history, 10*time.Second, path)
	if err != nil {
		t.Fatal(err)
	}
	if res != porcupine.Illegal {
		t.Fatalf("two holds granted the same seat at once: checker says %s, want Illegal", res)
	}
	b, err := os.ReadFile(written)
	if err != nil {
		t.Fatalf("visualization: %v", err)
	}
	if !strings.Contains(string(b), "hold(1A,1B)") {
		t.Errorf("visualization does not show the operations (%d bytes)", len(b))
	}
}

// TestModel checks small hand-made histories, legal and illegal, one
// property each.
func TestModel(t *testing.T) {
	t.Parallel()
	released := lincheck.Output{Status: 200, State: "released", Seats: seatA}
	tests := []struct {
		name    string
		legal   bool
		history []porcupine.Operation
	}{
		{"hold, refuse, release, hold again", true, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(1, 2, 3, hold(seatA|seatB), refused(seatA)),
			op(0, 4, 5, on(lincheck.OpRelease, 1), released),
			op(1, 6, 7, hold(seatA|seatB), granted(2, seatA|seatB)),
			op(2, 8, 9, readSeats, view("hha")),
		}},
		{"a release and a grant that overlap", true, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(1, 2, 6, hold(seatA), granted(2, seatA)),
			op(0, 3, 5, on(lincheck.OpRelease, 1), released),
		}},
		{"a grant of a seat released later", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(1, 2, 3, hold(seatA), granted(2, seatA)),
			op(0, 4, 5, on(lincheck.OpRelease, 1), released),
		}},
		{"a 409 naming a free seat", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(1, 2, 3, hold(seatA|seatB), refused(seatA|seatB)),
		}},
		{"a released hold booked (no fencing)", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, on(lincheck.OpRelease, 1), released),
			op(0, 4, 5, on(lincheck.OpBook, 1), lincheck.Output{Status: 201, Hold: 1, Seats: seatA, State: "confirmed"}),
		}},
		{"a booked hold released", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, on(lincheck.OpBook, 1), lincheck.Output{Status: 201, Hold: 1, Seats: seatA, State: "confirmed"}),
			op(0, 4, 5, on(lincheck.OpRelease, 1), released),
		}},
		{"a declined payment keeps the hold", true, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, lincheck.Input{Kind: lincheck.OpBook, Hold: 1, Declined: true}, lincheck.Output{Status: 402, Code: "payment_declined"}),
			op(1, 4, 5, readSeats, view("haa")),
			op(0, 6, 7, on(lincheck.OpReadHold, 1), lincheck.Output{Status: 200, State: "active", Seats: seatA}),
			op(0, 8, 9, on(lincheck.OpRelease, 1), released),
		}},
		{"a canceled booking frees its seats", true, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, on(lincheck.OpBook, 1), lincheck.Output{Status: 201, Hold: 1, Seats: seatA, State: "confirmed"}),
			op(1, 4, 5, readSeats, view("baa")),
			op(0, 6, 7, on(lincheck.OpCancel, 1), lincheck.Output{Status: 200, State: "canceled", Seats: seatA}),
			op(0, 8, 9, on(lincheck.OpReadHold, 1), lincheck.Output{Status: 200, State: "booked", Seats: seatA}),
			op(1, 10, 11, hold(seatA), granted(2, seatA)),
		}},
		{"a stale seat map after a cancel", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, on(lincheck.OpBook, 1), lincheck.Output{Status: 201, Hold: 1, Seats: seatA, State: "confirmed"}),
			op(0, 4, 5, on(lincheck.OpCancel, 1), lincheck.Output{Status: 200, State: "canceled", Seats: seatA}),
			op(1, 6, 7, readSeats, view("baa")),
		}},
		{"an unknown grant explains a later 409", true, []porcupine.Operation{
			op(0, 0, never, hold(seatA), unknown),
			op(1, 5, 6, readSeats, view("aaa")),
			op(1, 7, 8, hold(seatA), refused(seatA)),
		}},
		{"an unknown grant holds its seats for good", false, []porcupine.Operation{
			op(0, 0, never, hold(seatA), unknown),
			op(1, 7, 8, readSeats, view("haa")),
			op(1, 9, 10, readSeats, view("aaa")),
		}},
		{"an unknown release may or may not have happened", true, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, never, on(lincheck.OpRelease, 1), unknown),
			op(1, 3, 4, hold(seatA), refused(seatA)),
			op(1, 5, 6, hold(seatA), granted(2, seatA)),
		}},
		{"a refusal while another client's hold of the seat is in flight", true, []porcupine.Operation{
			op(0, 0, 10, hold(seatA), granted(1, seatA)),
			op(1, 1, 2, readSeats, view("aaa")),
			op(1, 3, 4, hold(seatA), refused(seatA)),
			op(2, 5, 6, readSeats, view("aaa")),
		}},
		{"a refusal while another client's release of the seat is in flight", true, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 10, lincheck.Input{Kind: lincheck.OpRelease, Hold: 1, Seats: seatA}, released),
			op(1, 3, 4, readSeats, view("aaa")),
			op(1, 5, 6, hold(seatA), refused(seatA)),
		}},
		{"a refusal of a free seat with nothing in flight", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, lincheck.Input{Kind: lincheck.OpRelease, Hold: 1, Seats: seatA}, released),
			op(1, 4, 5, hold(seatA), refused(seatA)),
		}},
		{"a refusal of a free seat while another seat is contended", false, []porcupine.Operation{
			op(0, 0, 10, hold(seatB), granted(1, seatB)),
			op(1, 3, 4, hold(seatA|seatB), refused(seatA|seatB)),
		}},
		{"a refusal while the client's own abandoned hold may still run", true, []porcupine.Operation{
			op(0, 0, never, hold(seatA), unknown),
			op(0, 5, 6, readSeats, view("aaa")),
			op(0, 7, 8, hold(seatA), refused(seatA)),
			op(1, 9, 10, readSeats, view("aaa")),
		}},
		{"an expired hold", false, []porcupine.Operation{
			op(0, 0, 1, hold(seatA), granted(1, seatA)),
			op(0, 2, 3, on(lincheck.OpExtend, 1), lincheck.Output{Status: 410, Code: "hold_expired"}),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := lincheck.Check(tt.history, 10*time.Second, filepath.Join(t.TempDir(), "viz.html"))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]porcupine.CheckResult{true: porcupine.Ok, false: porcupine.Illegal}[tt.legal]; res != want {
				t.Errorf("checker says %s, want %s", res, want)
			}
		})
	}
}
