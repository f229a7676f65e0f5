package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/reservd/reservd/internal/flights"
	"github.com/reservd/reservd/internal/trips"
	"github.com/reservd/reservd/internal/validate"
)

// Request bodies are bounded by route, to what the route can legitimately
// carry: an over-long body is refused (413 body_too_large) before it is
// read, and what is read is at most this big.
const (
	// smallBody bounds every route but POST /flights: a hold names at most
	// HOLD_MAX_SEATS short labels, a booking a hold id and a payment token,
	// a trip at most nine passengers.
	smallBody = 16 << 10
	// flightBody bounds POST /flights: flights.MaxSeats seats of about 80
	// bytes each, with room for indentation.
	flightBody = 256 << 10
)

// bodyLimit is the largest body a route reads.
func bodyLimit(rt route) int64 {
	if rt.method == http.MethodPost && rt.pattern == "/flights" {
		return flightBody
	}
	return smallBody
}

// arrayCap bounds the length of one array field of a request's top-level
// object: decodeJSON refuses a longer one after reading cap+1 of its
// elements, before decoding the body into its type, as the domain's own
// validation would have refused it after decoding it all.
type arrayCap struct {
	field   string
	max     int
	problem string // recorded under field when the array is longer
}

func holdSeatsCap(max int) arrayCap {
	return arrayCap{field: "seats", max: max, problem: fmt.Sprintf("at most %d seats per hold", max)}
}

var (
	flightSeatsCap = arrayCap{field: "seats", max: flights.MaxSeats, problem: fmt.Sprintf("at most %d seats", flights.MaxSeats)}
	passengersCap  = arrayCap{field: "passengers", max: trips.MaxPassengers, problem: fmt.Sprintf("at most %d passengers", trips.MaxPassengers)}
)

// checkArrayCaps walks body's tokens (without decoding anything into Go
// values) and reports an array field longer than its cap. It stops at the
// first element past the cap, however long the array goes on; anything it
// cannot walk is left for the strict decoder to report.
func checkArrayCaps(body []byte, caps []arrayCap) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		name, _ := t.(string)
		var c *arrayCap
		for i := range caps {
			if caps[i].field == name {
				c = &caps[i]
			}
		}
		if c == nil {
			if skipValue(dec) != nil {
				return nil
			}
			continue
		}
		t, err = dec.Token()
		if err != nil {
			return nil
		}
		if t != json.Delim('[') {
			if d, ok := t.(json.Delim); ok && d == '{' {
				if skipNested(dec) != nil {
					return nil
				}
			}
			continue // a wrong type: the decoder reports it
		}
		for n := 0; dec.More(); n++ {
			if n == c.max {
				return validate.Errors{c.field: c.problem}
			}
			if skipValue(dec) != nil {
				return nil
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ]
			return nil
		}
	}
	return nil
}

// skipValue reads past the next value, however nested.
func skipValue(dec *json.Decoder) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); ok && (d == '{' || d == '[') {
		return skipNested(dec)
	}
	return nil
}

// skipNested reads to the end of the object or array just opened.
func skipNested(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// readBody reads the whole body, at most limit bytes of it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if err != nil && !errors.As(err, &tooLarge) {
		return nil, bodyReadError(err)
	}
	return b, err
}

// inflight caps the requests being served at once, in total and per API
// key. Past a cap a request is refused at once (503 overloaded, or 429
// rate_limited for one key) rather than queued: a queue without bound only
// turns a burst into memory and latency for everyone.
type inflight struct {
	max, perKey int // 0: no cap
	total       atomic.Int64

	mu   sync.Mutex
	keys map[int64]int
}

func newInflight(max, perKey int) *inflight {
	return &inflight{max: max, perKey: perKey, keys: map[int64]int{}}
}

var (
	errOverloaded = &Error{Status: http.StatusServiceUnavailable, Code: "overloaded",
		Message: "The service is serving as many requests as it can; retry shortly", RetryAfter: 1}
	errKeyInflight = &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
		Message: "Too many requests in flight for this API key; wait for some to finish", RetryAfter: 1}
)

// enter counts a request in; release must be called when it is answered.
func (l *inflight) enter() (release func(), err error) {
	if l.max <= 0 {
		return func() {}, nil
	}
	if l.total.Add(1) > int64(l.max) {
		l.total.Add(-1)
		return nil, errOverloaded
	}
	return func() { l.total.Add(-1) }, nil
}

// enterKey counts a request of API key id in.
func (l *inflight) enterKey(id int64) (release func(), err error) {
	if l.perKey <= 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys[id] >= l.perKey {
		return nil, errKeyInflight
	}
	l.keys[id]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.keys[id]--; l.keys[id] <= 0 {
			delete(l.keys, id) // the map holds only keys with requests in flight
		}
	}, nil
}
