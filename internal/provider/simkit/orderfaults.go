package simkit

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"

	"github.com/reservd/reservd/internal/fx"
	"github.com/reservd/reservd/internal/money"
)

// OrderRoutes tells OrderFaults a simulator's order routes and how to
// rewrite its order answer.
type OrderRoutes struct {
	// Order reports the call that creates an order.
	Order func(*http.Request) bool
	// Lookup reports a call that looks orders up.
	Lookup func(*http.Request) bool
	// Restate rewrites a decoded order answer (numbers as json.Number) so
	// that its amounts are stated in currency only.
	Restate func(answer map[string]any, currency string)
	// Garble rewrites a decoded order answer so that its amounts cannot be
	// read, keeping the order's id.
	Garble func(answer map[string]any)
}

// OrderFaults applies the order knobs in front of next: it counts order
// calls, and per the knobs restates or garbles a successful order answer,
// cuts the connection once the order exists, or answers lookups 404. The
// order itself is always made by next, so a client that sees any of these
// faults faces an order that exists.
func (s *Sim) OrderFaults(next http.Handler, routes OrderRoutes) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := s.Knobs()
		if routes.Lookup != nil && routes.Lookup(r) && k.NoLookupRoute {
			http.NotFound(w, r) // what net/http's mux answers for an unknown route
			return
		}
		if routes.Order == nil || !routes.Order(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.Count(func(st *Stats) { st.OrderCalls++ })
		if !k.CutAfterOrder && !k.UnreadableOrderAnswer && k.OrderAnswerCurrency == "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code >= 200 && rec.Code < 300 {
			if k.CutAfterOrder {
				cut(w)
				return
			}
			body = rewrite(body, func(m map[string]any) {
				if k.OrderAnswerCurrency != "" && routes.Restate != nil {
					routes.Restate(m, k.OrderAnswerCurrency)
				}
				if k.UnreadableOrderAnswer && routes.Garble != nil {
					routes.Garble(m)
				}
			})
		}
		for name, v := range rec.Header() {
			w.Header()[name] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body) // #nosec G104 -- a simulator's answer: a failed write means the client went away
	})
}

// cut closes the client's connection without an answer.
func cut(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close() // #nosec G104 -- the injected fault is this cut connection; how its close went changes nothing
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http then drops the connection
}

// rewrite decodes a JSON object, lets f change it and encodes it again; a
// body that is not an object is returned as it is.
func rewrite(body []byte, f func(map[string]any)) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return body
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// rates is the shipped rates table the simulators price with.
var rates = fx.Default()

// Convert converts minor units of from into minor units of to with the
// shipped rates table (rounded half to even), as a provider quoting in
// another currency would. An unknown currency keeps the amount.
func Convert(minor int64, from, to string) int64 {
	m, err := rates.Convert(money.Money{Amount: minor, Currency: from}, to)
	if err != nil {
		return minor
	}
	return m.Amount
}

// ConvertDecimal converts a decimal amount of from, as a provider writes
// it, to a decimal amount of to; ok is false when it cannot be read.
func ConvertDecimal(amount, from, to string) (string, bool) {
	m, err := money.ParseDecimal(amount, from)
	if err != nil {
		return "", false
	}
	c, err := rates.Convert(m, to)
	if err != nil {
		return "", false
	}
	return c.Decimal(), true
}
