package duffelsim

import (
	"net/http"
	"sync"
	"time"

	"github.com/reservd/reservd/internal/money"
	"github.com/reservd/reservd/internal/provider/simkit"
)

// ---- order cancellations: a quote (POST /air/order_cancellations), then
// its confirmation (POST /air/order_cancellations/{id}/actions/confirm);
// GET /air/order_cancellations?order_id= lists an order's cancellations.

type cancellation struct {
	id, orderID string
	refund      money.Money
	createdAt   time.Time
	confirmedAt time.Time // zero until confirmed
}

// cancelMu guards every simulator's cancels (a quote is confirmed while
// other requests list it).
var cancelMu sync.Mutex

func (s *Sim) cancellationsOf(orderID string) []*cancellation {
	var out []*cancellation
	for _, c := range s.cancels {
		if c.orderID == orderID {
			out = append(out, c)
		}
	}
	return out
}

func (s *Sim) createCancellation(w http.ResponseWriter, r *http.Request) {
	var in dataIn[struct {
		OrderID string `json:"order_id"`
	}]
	if !decodeBody(w, r, &in) {
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.CancelCalls++ })
	o, ok := s.Kit.OrderByID(in.Data.OrderID)
	if !ok {
		validationError(w, "not_found", "order_id", "The order does not exist.")
		return
	}
	if o.Canceled || s.Kit.Knobs().RefuseCancel {
		// What Duffel answers for an order whose airline does not allow
		// cancellation (or that is cancelled already).
		writeError(w, http.StatusUnprocessableEntity, "airline_error", "order_not_cancellable", "Order not cancellable",
			"This order cannot be cancelled.", nil)
		return
	}
	cancelMu.Lock()
	c := &cancellation{id: "ore_" + hashID(o.ID+time.Now().String(), 22), orderID: o.ID,
		refund: money.Money{Amount: o.Amount, Currency: o.Currency}, createdAt: time.Now().UTC()}
	if s.cancels == nil {
		s.cancels = make(map[string]*cancellation)
	}
	s.cancels[c.id] = c
	out := renderCancellation(c)
	cancelMu.Unlock()
	writeData(w, http.StatusCreated, out)
}

func (s *Sim) confirmCancellation(w http.ResponseWriter, r *http.Request) {
	cancelMu.Lock()
	c, ok := s.cancels[r.PathValue("id")]
	cancelMu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "Not found",
			"The resource you are trying to access does not exist.", nil)
		return
	}
	s.Kit.Count(func(st *simkit.Stats) { st.CancelCalls++ })
	if s.Kit.Knobs().RefuseCancel {
		writeError(w, http.StatusUnprocessableEntity, "airline_error", "order_not_cancellable", "Order not cancellable",
			"This order cannot be cancelled.", nil)
		return
	}
	cancelMu.Lock()
	confirmed := !c.confirmedAt.IsZero()
	cancelMu.Unlock()
	if confirmed {
		writeError(w, http.StatusUnprocessableEntity, "invalid_state_error", "already_cancelled", "Already cancelled",
			"This order cancellation has already been confirmed.", nil)
		return
	}
	if _, ok := s.Kit.CancelOrder(c.orderID); !ok {
		validationError(w, "not_found", "order_id", "The order does not exist.")
		return
	}
	cancelMu.Lock()
	c.confirmedAt = time.Now().UTC()
	out := renderCancellation(c)
	cancelMu.Unlock()
	if s.Kit.CancelFault(w, r) {
		return
	}
	writeData(w, http.StatusOK, out)
}

func (s *Sim) listCancellations(w http.ResponseWriter, r *http.Request) {
	s.Kit.Count(func(st *simkit.Stats) { st.Lookups++ })
	cancelMu.Lock()
	list := []map[string]any{}
	for _, c := range s.cancellationsOf(r.URL.Query().Get("order_id")) {
		list = append(list, renderCancellation(c))
	}
	cancelMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": list, "meta": map[string]any{"limit": 50, "after": nil, "before": nil}})
}

func renderCancellation(c *cancellation) map[string]any {
	var confirmed any
	if !c.confirmedAt.IsZero() {
		confirmed = stamp(c.confirmedAt)
	}
	return map[string]any{
		"id": c.id, "order_id": c.orderID, "live_mode": false,
		"refund_amount": c.refund.Decimal(), "refund_currency": c.refund.Currency, "refund_to": "balance",
		"created_at": stamp(c.createdAt), "expires_at": stamp(c.createdAt.Add(time.Hour)),
		"confirmed_at": confirmed, "airline_credits": []any{},
	}
}
