package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/provider"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// bookOne books the first offer under ref and returns the order.
func (w *world) bookOne(t *testing.T, ref string) provider.Order {
	t.Helper()
	priced, err := w.c.Price(t.Context(), w.search(t)[0])
	if err != nil {
		t.Fatalf("price: %v", err)
	}
	order, err := w.book(t.Context(), w.c, priced, ref)
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	return order
}

// wantRefund checks a cancellation's refund: the order's full price (what
// the simulators refund), or none for a provider that states no amount.
func (w *world) wantRefund(t *testing.T, what string, got provider.Cancellation, order provider.Order) {
	t.Helper()
	switch {
	case !got.Canceled:
		t.Errorf("%s: %+v is not canceled", what, got)
	case w.NoRefundAmount && got.Refund != nil:
		t.Errorf("%s: refund %v from a provider that states none", what, got.Refund)
	case !w.NoRefundAmount && (got.Refund == nil || *got.Refund != order.Price):
		t.Errorf("%s: refund %v, want the order's %v", what, got.Refund, order.Price)
	}
}

// cancelOK: an order is canceled once, with the provider's refund; the
// lookup, by this adapter and a fresh one, sees it canceled, and sees a
// live order as not canceled.
func cancelOK(t *testing.T, w *world) {
	order := w.bookOne(t, "trp_cancel-1")
	live, err := w.c.CancelStatus(t.Context(), order.ID)
	if err != nil || live.Canceled {
		t.Fatalf("CancelStatus of a live order = %+v, %v", live, err)
	}
	got, err := w.c.Cancel(t.Context(), order.ID)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	w.wantRefund(t, "Cancel", got, order)
	if st := w.Kit.Stats(); st.Cancels != 1 {
		t.Errorf("%d cancellations at the simulator, want 1", st.Cancels)
	}
	for who, c := range map[string]provider.Provider{"same adapter": w.c, "fresh adapter": w.Client()} {
		found, err := c.CancelStatus(t.Context(), order.ID)
		if err != nil {
			t.Fatalf("%s: CancelStatus: %v", who, err)
		}
		w.wantRefund(t, who+": CancelStatus", found, order)
	}
}

// cancelRefused: the provider's refusal is ErrNotCancelable, and the order
// stays live.
func cancelRefused(t *testing.T, w *world) {
	order := w.bookOne(t, "trp_refuse-1")
	w.Kit.Update(func(k *simkit.Knobs) { k.RefuseCancel = true })
	if got, err := w.c.Cancel(t.Context(), order.ID); !errors.Is(err, provider.ErrNotCancelable) {
		t.Fatalf("refused cancel = %+v, %v; want ErrNotCancelable", got, err)
	}
	if st := w.Kit.Stats(); st.Cancels != 0 || st.CancelCalls == 0 {
		t.Errorf("stats after a refusal = %+v", st)
	}
	if live, err := w.c.CancelStatus(t.Context(), order.ID); err != nil || live.Canceled {
		t.Errorf("CancelStatus after a refusal = %+v, %v", live, err)
	}
}

// ambiguousCancel: the cancellation takes effect and its answer is lost
// (held until our deadline, or the connection cut): Cancel fails with
// neither a refusal nor a success, and the lookup finds the order
// canceled, with the refund.
func ambiguousCancel(t *testing.T, w *world) {
	for i, fault := range []func(*simkit.Knobs){
		func(k *simkit.Knobs) { k.LoseCancelResponse = true },
		func(k *simkit.Knobs) { k.CutAfterCancel = true },
	} {
		order := w.bookOne(t, "trp_lostcancel-"+string(rune('1'+i)))
		before := w.Kit.Stats().Cancels
		w.Kit.Update(fault)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		got, err := w.c.Cancel(ctx, order.ID)
		cancel()
		w.Kit.Update(func(k *simkit.Knobs) { k.LoseCancelResponse, k.CutAfterCancel = false, false })
		if err == nil || errors.Is(err, provider.ErrNotCancelable) {
			t.Fatalf("fault %d: Cancel = %+v, %v; want an unknown outcome", i, got, err)
		}
		if n := w.Kit.Stats().Cancels - before; n != 1 {
			t.Fatalf("fault %d: %d cancellations took effect, want 1", i, n)
		}
		found, err := w.Client().CancelStatus(t.Context(), order.ID)
		if err != nil {
			t.Fatalf("fault %d: CancelStatus: %v", i, err)
		}
		w.wantRefund(t, "CancelStatus after a lost answer", found, order)
	}
}
