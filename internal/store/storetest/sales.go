package storetest

import (
	"bytes"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/id"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/waitroom"
)

func runSales(t *testing.T, newStore NewStore) {
	tests := map[string]func(t *testing.T, f *fixture){
		"SaleSettings":     testSaleSettings,
		"QueueEarlyLate":   testQueueEarlyLate,
		"QueueConcurrent":  testQueueConcurrent,
		"QueueSaleSecret":  testSaleSecret,
		"QueueOtherTicket": testQueueOtherTicket,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, newStore))
		})
	}
}

// customers makes n more API keys.
func (f *fixture) customers(t testing.TB, n int) []int64 {
	t.Helper()
	out := make([]int64, n)
	for i := range out {
		_, digest := apikey.Generate()
		var err error
		if out[i], err = f.s.APIKeyCreate(f.ctx, store.APIKeyCreateParams{Name: "queued", Digest: digest}); err != nil {
			t.Fatalf("APIKeyCreate: %v", err)
		}
	}
	return out
}

func (f *fixture) join(t testing.TB, key, rank int64) store.QueueView {
	t.Helper()
	v, err := f.s.QueueJoin(f.ctx, store.QueueJoinParams{FlightID: f.flight.ID, KeyID: key, TicketID: id.New("qtk"), Rank: rank})
	if err != nil {
		t.Fatalf("QueueJoin: %v", err)
	}
	return v
}

func testSaleSettings(t *testing.T, f *fixture) {
	if _, err := f.s.SaleGet(f.ctx, f.flight.ID); !errors.Is(err, waitroom.ErrNoSale) {
		t.Fatalf("SaleGet before any sale: %v, want ErrNoSale", err)
	}
	if _, err := f.s.QueueJoin(f.ctx, store.QueueJoinParams{FlightID: f.flight.ID, KeyID: f.alice, TicketID: id.New("qtk")}); !errors.Is(err, waitroom.ErrNoSale) {
		t.Fatalf("QueueJoin without a sale: %v, want ErrNoSale", err)
	}
	sale := waitroom.Sale{FlightID: f.flight.ID, OpensAt: time.Now().UTC().Add(time.Hour).Truncate(time.Millisecond), AdmitPerSecond: 50, AdmissionTTL: 90 * time.Second}
	if err := f.s.SalePut(f.ctx, waitroom.Sale{FlightID: f.flight.ID + 1000, OpensAt: sale.OpensAt, AdmitPerSecond: 1, AdmissionTTL: time.Minute}); !errors.Is(err, flights.ErrNotFound) {
		t.Fatalf("SalePut on an unknown flight: %v, want flights.ErrNotFound", err)
	}
	if err := f.s.SalePut(f.ctx, sale); err != nil {
		t.Fatalf("SalePut: %v", err)
	}
	if got, err := f.s.SaleGet(f.ctx, f.flight.ID); err != nil || !got.OpensAt.Equal(sale.OpensAt) || got.AdmitPerSecond != 50 || got.AdmissionTTL != sale.AdmissionTTL || got.FlightID != sale.FlightID {
		t.Fatalf("SaleGet = %+v, %v; want %+v", got, err, sale)
	}
	first := f.join(t, f.alice, 1)
	if !first.Created || !first.Ticket.Early || first.Ticket.KeyID != f.alice || first.Ticket.FlightID != f.flight.ID {
		t.Fatalf("first join: %+v, want a new early ticket of alice", first)
	}
	again := f.join(t, f.alice, 2)
	if again.Created || again.Ticket.ID != first.Ticket.ID {
		t.Fatalf("second join: %+v, want alice's ticket %s again", again, first.Ticket.ID)
	}
	// The same settings again keep the queue; new ones start a new queue.
	if err := f.s.SalePut(f.ctx, sale); err != nil {
		t.Fatalf("SalePut again: %v", err)
	}
	get := store.QueueTicketGetParams{FlightID: f.flight.ID, KeyID: f.alice, TicketID: first.Ticket.ID}
	if _, err := f.s.QueueTicketGet(f.ctx, get); err != nil {
		t.Fatalf("ticket after the same sale was put again: %v", err)
	}
	sale.AdmitPerSecond = 51
	if err := f.s.SalePut(f.ctx, sale); err != nil {
		t.Fatalf("SalePut changed: %v", err)
	}
	if _, err := f.s.QueueTicketGet(f.ctx, get); !errors.Is(err, waitroom.ErrTicketNotFound) {
		t.Fatalf("ticket after the sale changed: %v, want ErrTicketNotFound", err)
	}
	if got, _ := f.s.SaleGet(f.ctx, f.flight.ID); got.AdmitPerSecond != 51 {
		t.Fatalf("changed sale reads %+v", got)
	}
	f.join(t, f.alice, 1)
	if err := f.s.SaleDelete(f.ctx, f.flight.ID); err != nil {
		t.Fatalf("SaleDelete: %v", err)
	}
	if err := f.s.SaleDelete(f.ctx, f.flight.ID); !errors.Is(err, waitroom.ErrNoSale) {
		t.Fatalf("SaleDelete twice: %v, want ErrNoSale", err)
	}
	if _, err := f.s.SaleGet(f.ctx, f.flight.ID); !errors.Is(err, waitroom.ErrNoSale) {
		t.Fatalf("SaleGet after delete: %v, want ErrNoSale", err)
	}
}

func testQueueEarlyLate(t *testing.T, f *fixture) {
	const nEarly, nLate, rate = 12, 6, 20
	keys := f.customers(t, nEarly+nLate)
	// The early customers join within the first second; the sale opens after.
	opens := time.Now().UTC().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	sale := waitroom.Sale{FlightID: f.flight.ID, OpensAt: opens, AdmitPerSecond: rate, AdmissionTTL: time.Hour}
	if err := f.s.SalePut(f.ctx, sale); err != nil {
		t.Fatalf("SalePut: %v", err)
	}
	ranks := map[string]int64{}
	var early []waitroom.Ticket
	for i, k := range keys[:nEarly] {
		rank := int64((i * 7) % nEarly) // a known permutation of the arrival order
		v := f.join(t, k, rank)
		if !v.Ticket.Early || !v.Now.Before(opens) {
			t.Fatalf("join %d at %v, opens %v: ticket %+v, want early", i, v.Now, opens, v.Ticket)
		}
		ranks[v.Ticket.ID] = rank
		early = append(early, v.Ticket)
	}
	time.Sleep(time.Until(opens) + 50*time.Millisecond)
	var late []store.QueueView
	for _, k := range keys[nEarly:] {
		v := f.join(t, k, 0)
		if v.Ticket.Early || v.Now.Before(opens) {
			t.Fatalf("join at %v, opens %v: %+v, want late", v.Now, opens, v.Ticket)
		}
		late = append(late, v)
	}
	// Early tickets are indexed by rank, whatever order they joined in.
	for i, tk := range early {
		v, err := f.s.QueueTicketGet(f.ctx, store.QueueTicketGetParams{FlightID: f.flight.ID, KeyID: keys[i], TicketID: tk.ID})
		if err != nil {
			t.Fatalf("QueueTicketGet: %v", err)
		}
		if !v.Ticket.Early || v.Ticket.EarlyIndex != ranks[tk.ID] {
			t.Errorf("early ticket %d (rank %d): index %d", i, ranks[tk.ID], v.Ticket.EarlyIndex)
		}
	}
	// Late tickets queue behind all early ones in arrival order, one
	// interval apart (the queue has not drained: 12 early at 20/s take 0.6s).
	iv := sale.Interval()
	for k, v := range late {
		want := opens.Add(time.Duration(nEarly+k) * iv)
		if v.Now.After(want) {
			want = v.Now // drained: admitted at once, still after the one before
		}
		if k > 0 && v.Ticket.Slot.Sub(late[k-1].Ticket.Slot) < iv {
			t.Errorf("late ticket %d: slot %v, %v after the previous one, want >= %v", k, v.Ticket.Slot, v.Ticket.Slot.Sub(late[k-1].Ticket.Slot), iv)
		}
		if !v.Ticket.Slot.Equal(want) {
			t.Errorf("late ticket %d: slot opens+%v, want opens+%v", k, v.Ticket.Slot.Sub(opens), want.Sub(opens))
		}
	}
}

func testQueueConcurrent(t *testing.T, f *fixture) {
	const n, rate = 24, 1000
	keys := f.customers(t, n)
	sale := waitroom.Sale{FlightID: f.flight.ID, OpensAt: time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond), AdmitPerSecond: rate, AdmissionTTL: time.Minute}
	if err := f.s.SalePut(f.ctx, sale); err != nil {
		t.Fatalf("SalePut: %v", err)
	}
	slots := make([]time.Time, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Go(func() {
			v, err := f.s.QueueJoin(f.ctx, store.QueueJoinParams{FlightID: f.flight.ID, KeyID: keys[i%n], TicketID: id.New("qtk")})
			if err != nil {
				t.Errorf("QueueJoin: %v", err)
				return
			}
			slots[i] = v.Ticket.Slot
		})
	}
	wg.Wait()
	// Each customer has one ticket, whichever of its two joins made it.
	byKey := map[int64]time.Time{}
	for i, s := range slots {
		if prev, ok := byKey[keys[i%n]]; ok && !prev.Equal(s) {
			t.Errorf("customer %d got two tickets: slots %v and %v", keys[i%n], prev, s)
		}
		byKey[keys[i%n]] = s
	}
	distinct := make([]time.Time, 0, n)
	for _, s := range byKey {
		distinct = append(distinct, s)
	}
	sort.Slice(distinct, func(a, b int) bool { return distinct[a].Before(distinct[b]) })
	for k := 1; k < len(distinct); k++ {
		if gap := distinct[k].Sub(distinct[k-1]); gap < sale.Interval() {
			t.Errorf("slots %d and %d only %v apart, want >= %v", k-1, k, gap, sale.Interval())
		}
	}
}

func testSaleSecret(t *testing.T, f *fixture) {
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	got, err := f.s.SaleSecret(f.ctx, a)
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("SaleSecret first = %x, %v; want %x", got, err, a)
	}
	if got, err := f.s.SaleSecret(f.ctx, b); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("SaleSecret again = %x, %v; want the first %x", got, err, a)
	}
}

func testQueueOtherTicket(t *testing.T, f *fixture) {
	sale := waitroom.Sale{FlightID: f.flight.ID, OpensAt: time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond), AdmitPerSecond: 5, AdmissionTTL: time.Minute}
	if err := f.s.SalePut(f.ctx, sale); err != nil {
		t.Fatalf("SalePut: %v", err)
	}
	v := f.join(t, f.alice, 0)
	for name, p := range map[string]store.QueueTicketGetParams{
		"bob's view":   {FlightID: f.flight.ID, KeyID: f.bob, TicketID: v.Ticket.ID},
		"other flight": {FlightID: f.flight.ID + 1, KeyID: f.alice, TicketID: v.Ticket.ID},
		"unknown id":   {FlightID: f.flight.ID, KeyID: f.alice, TicketID: id.New("qtk")},
	} {
		if _, err := f.s.QueueTicketGet(f.ctx, p); !errors.Is(err, waitroom.ErrTicketNotFound) {
			t.Errorf("%s: %v, want ErrTicketNotFound", name, err)
		}
	}
	got, err := f.s.QueueTicketGet(f.ctx, store.QueueTicketGetParams{FlightID: f.flight.ID, KeyID: f.alice, TicketID: v.Ticket.ID})
	if err != nil || got.Ticket.ID != v.Ticket.ID || !got.Ticket.Slot.Equal(v.Ticket.Slot) || got.Now.Before(v.Now) {
		t.Fatalf("QueueTicketGet = %+v, %v; want %+v", got, err, v)
	}
	// The sale opened a minute ago and the queue is empty: admitted at once.
	if a := waitroom.Admit(got.Sale, got.Ticket, got.Now); a.Status != waitroom.StatusAdmitted {
		t.Errorf("admission = %+v, want admitted", a)
	}
}
