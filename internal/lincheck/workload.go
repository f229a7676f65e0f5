package lincheck

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// Workload is a set of concurrent clients and what they do.
type Workload struct {
	// URLs are the instances; each request goes to one of them at random.
	URLs []string
	// Keys holds one customer API key per client; there are len(Keys) clients.
	Keys []string
	// Flight returns the flight of epoch n, creating it on first use, with
	// Groups rows of GroupSize seats (rows 1…Groups, letters A, B, C).
	// Clients move to a new flight every EpochOps operations, which keeps
	// each group's history short enough to check however long the run.
	Flight   func(ctx context.Context, epoch int) (int64, error)
	Groups   int
	EpochOps int // 0: one flight for the whole run
	// Ops bounds the operations of each client (0: no bound); Duration
	// bounds the run (0: no bound). One of them must be set.
	Ops      int
	Duration time.Duration
	// GiveUp is the fraction of requests a client abandons after a random
	// delay of up to GiveUpAfter, as a client that times out or resets its
	// connection does: their outcome is unknown.
	GiveUp      float64
	GiveUpAfter time.Duration
	// Client sends the requests; its Timeout (if any) also makes outcomes unknown.
	Client *http.Client
	// Seed makes the clients' choices reproducible (not the interleaving).
	Seed uint64
}

// History is what the clients did and were told.
type History struct {
	Ops      []porcupine.Operation
	Requests int            // HTTP requests sent
	Counts   map[string]int // "hold 201", "book unknown", …: requests by kind and outcome
	Unknown  int            // requests with an unknown outcome
	// ServerErrors lists the 5xx answers (recorded as unknown outcomes too).
	ServerErrors []string
	// MaxCreated is the latest database time a response reported (a hold's or
	// booking's created_at); MinExpires the earliest expires_at of a hold.
	MaxCreated, MinExpires time.Time
	Wall                   time.Duration
}

// Run runs the clients to the end and returns their history.
func (w Workload) Run(ctx context.Context) (*History, error) {
	if w.Ops <= 0 && w.Duration <= 0 {
		return nil, errors.New("lincheck: a workload needs Ops or Duration")
	}
	if w.Client == nil {
		w.Client = http.DefaultClient
	}
	start := time.Now()
	if w.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.Duration)
		defer cancel()
	}
	run := &run{w: w, start: start}
	clients := make([]*client, len(w.Keys))
	errs := make([]error, len(w.Keys))
	var wg sync.WaitGroup
	for i, key := range w.Keys {
		clients[i] = &client{run: run, id: i, key: key, epoch: -1,
			rnd: mrand.New(mrand.NewPCG(w.Seed, uint64(i)))} // #nosec G404 -- a seeded, reproducible test workload; nothing secret
		wg.Go(func() { errs[i] = clients[i].loop(ctx) })
	}
	wg.Wait()
	h := &History{Counts: map[string]int{}, Wall: time.Since(start)}
	for _, c := range clients {
		h.Ops = append(h.Ops, c.ops...)
		h.Requests += c.requests
		h.Unknown += c.unknown
		h.ServerErrors = append(h.ServerErrors, c.serverErrors...)
		for k, n := range c.counts {
			h.Counts[k] += n
		}
		if c.maxCreated.After(h.MaxCreated) {
			h.MaxCreated = c.maxCreated
		}
		if !c.minExpires.IsZero() && (h.MinExpires.IsZero() || c.minExpires.Before(h.MinExpires)) {
			h.MinExpires = c.minExpires
		}
	}
	return h, errors.Join(errs...)
}

// Summary is a one-line account of the history.
func (h *History) Summary() string {
	keys := make([]string, 0, len(h.Counts))
	for k := range h.Counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, h.Counts[k]))
	}
	return fmt.Sprintf("%d requests in %v, %d operations checked, %d unknown outcomes; %s",
		h.Requests, h.Wall.Round(time.Millisecond), len(h.Ops), h.Unknown, strings.Join(parts, " "))
}

type run struct {
	w       Workload
	start   time.Time
	aliases atomic.Int32
}

// now is the monotonic time since the run started, in nanoseconds.
func (r *run) now() int64 { return int64(time.Since(r.start)) }

// ownHold is a hold a client was granted, as far as the client knows.
type ownHold struct {
	id      string
	alias   int32
	flight  int64
	group   int
	seats   uint8
	ended   bool   // released or booked, as far as the client knows
	booking string // the booking's id once booked
}

type client struct {
	*run
	id     int
	key    string
	rnd    *mrand.Rand
	epoch  int
	flight int64
	holds  []*ownHold

	ops                    []porcupine.Operation
	requests, unknown      int
	counts                 map[string]int
	serverErrors           []string
	maxCreated, minExpires time.Time
}

func (c *client) loop(ctx context.Context) error {
	c.counts = map[string]int{}
	for i := 0; c.w.Ops <= 0 || i < c.w.Ops; i++ {
		if ctx.Err() != nil {
			return nil
		}
		epoch := 0
		if c.w.EpochOps > 0 {
			epoch = i / c.w.EpochOps
		}
		if epoch != c.epoch {
			f, err := c.w.Flight(ctx, epoch)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("flight of epoch %d: %w", epoch, err)
			}
			c.epoch, c.flight, c.holds = epoch, f, nil
		}
		c.step(ctx)
	}
	return nil
}

// step chooses and runs one operation.
func (c *client) step(ctx context.Context) {
	var active, ended, booked []*ownHold
	for _, h := range c.holds {
		switch {
		case !h.ended:
			active = append(active, h)
		default:
			ended = append(ended, h)
		}
		if h.booking != "" {
			booked = append(booked, h)
		}
	}
	pick := func(hs []*ownHold) *ownHold { return hs[c.rnd.IntN(len(hs))] }
	// Mostly act on active holds; now and then on ended ones, whose answers
	// the model knows too (a released hold cannot be booked, …).
	some := func() *ownHold {
		if len(ended) > 0 && (len(active) == 0 || c.rnd.IntN(5) == 0) {
			return pick(ended)
		}
		return pick(active)
	}
	r := c.rnd.IntN(100)
	switch {
	case len(c.holds) == 0 || (len(active) < 3 && r < 35):
		c.hold(ctx)
	case len(booked) > 0 && r < 45:
		c.cancel(ctx, pick(booked))
	case r < 60:
		c.book(ctx, some())
	case r < 72:
		c.release(ctx, some())
	case r < 78:
		c.extend(ctx, some())
	case r < 88:
		c.readHold(ctx, some())
	default:
		c.readSeats(ctx)
	}
	// Keep the few most recent ended holds for follow-ups.
	if len(ended) > 4 {
		old := ended[0]
		c.holds = slices.DeleteFunc(c.holds, func(h *ownHold) bool { return h == old })
	}
}

// forget drops a hold whose state the client no longer knows.
func (c *client) forget(h *ownHold) {
	c.holds = slices.DeleteFunc(c.holds, func(x *ownHold) bool { return x == h })
}

func (c *client) hold(ctx context.Context) {
	g := c.rnd.IntN(c.w.Groups)
	var mask uint8
	switch n := c.rnd.IntN(10); {
	case n < 6: // one seat
		mask = 1 << c.rnd.IntN(GroupSize)
	case n < 9: // two
		mask = (1<<GroupSize - 1) &^ (1 << c.rnd.IntN(GroupSize))
	default: // the whole group
		mask = 1<<GroupSize - 1
	}
	labels, _ := json.Marshal(Labels(g, mask))
	in := Input{Kind: OpHold, Flight: c.flight, Group: g, Seats: mask}
	res, call, ret := c.do(ctx, http.MethodPost, "/holds", fmt.Sprintf(`{"flight_id":%d,"seats":%s}`, c.flight, labels))
	out := c.output(in, res)
	if !out.Unknown {
		switch res.status {
		case http.StatusCreated:
			if res.data == nil {
				break
			}
			out.Hold = c.aliases.Add(1)
			out.Seats = c.seats(g, res.data)
			c.holds = append(c.holds, &ownHold{id: str(res.data["id"]), alias: out.Hold, flight: c.flight, group: g, seats: mask})
			c.times(res.data)
		case http.StatusConflict:
			if d, ok := res.body["details"].(map[string]any); ok {
				out.Seats = Mask(g, strs(d["seats"]))
			}
		}
	}
	c.record(in, out, call, ret)
}

func (c *client) book(ctx context.Context, h *ownHold) {
	declined := c.rnd.IntN(8) == 0
	token := "tok_visa"
	if declined {
		token = "tok_chargeDeclined" // #nosec G101 -- the test gateway's declining card token, not a credential
	}
	in := Input{Kind: OpBook, Flight: h.flight, Group: h.group, Hold: h.alias, Declined: declined}
	res, call, ret := c.do(ctx, http.MethodPost, "/bookings", fmt.Sprintf(`{"hold_id":%q,"payment":{"token":%q}}`, h.id, token))
	out := c.output(in, res)
	switch {
	case out.Unknown:
		c.forget(h)
	case res.status == http.StatusCreated:
		if str(res.data["hold_id"]) == h.id {
			out.Hold = h.alias
		}
		out.Seats, out.State = c.seats(h.group, res.data), str(res.data["status"])
		h.ended, h.booking = true, str(res.data["id"])
		c.times(res.data)
	case res.status == http.StatusConflict:
		h.ended = true
	}
	c.record(in, out, call, ret)
}

func (c *client) release(ctx context.Context, h *ownHold) {
	in := Input{Kind: OpRelease, Flight: h.flight, Group: h.group, Hold: h.alias, Seats: h.seats}
	res, call, ret := c.do(ctx, http.MethodDelete, "/holds/"+h.id, "")
	out := c.holdOutput(in, h, res)
	if res.status == http.StatusOK || res.status == http.StatusConflict {
		h.ended = true
	}
	c.record(in, out, call, ret)
}

func (c *client) extend(ctx context.Context, h *ownHold) {
	in := Input{Kind: OpExtend, Flight: h.flight, Group: h.group, Hold: h.alias}
	res, call, ret := c.do(ctx, http.MethodPost, "/holds/"+h.id+"/extend", "")
	out := c.holdOutput(in, h, res)
	if res.status == http.StatusConflict {
		h.ended = true
	}
	c.record(in, out, call, ret)
}

func (c *client) readHold(ctx context.Context, h *ownHold) {
	in := Input{Kind: OpReadHold, Flight: h.flight, Group: h.group, Hold: h.alias}
	res, call, ret := c.do(ctx, http.MethodGet, "/holds/"+h.id, "")
	c.record(in, c.holdOutput(in, h, res), call, ret)
}

func (c *client) cancel(ctx context.Context, h *ownHold) {
	in := Input{Kind: OpCancel, Flight: h.flight, Group: h.group, Hold: h.alias, Seats: h.seats}
	res, call, ret := c.do(ctx, http.MethodPost, "/bookings/"+h.booking+"/cancel", "")
	out := c.output(in, res)
	switch {
	case out.Unknown:
		c.forget(h)
	case res.status == http.StatusOK:
		out.Seats, out.State = c.seats(h.group, res.data), str(res.data["status"])
		if str(res.data["hold_id"]) != h.id {
			out.Seats |= foreignSeat
		}
	}
	c.record(in, out, call, ret)
}

// holdOutput is the output of an operation answered with a Hold.
func (c *client) holdOutput(in Input, h *ownHold, res response) Output {
	out := c.output(in, res)
	switch {
	case out.Unknown && in.Kind == OpRelease:
		c.forget(h)
	case out.Unknown:
	case res.status == http.StatusOK:
		out.Seats, out.State = c.seats(h.group, res.data), str(res.data["status"])
		if str(res.data["id"]) != h.id {
			out.Seats |= foreignSeat
		}
		c.times(res.data)
	}
	return out
}

// readSeats reads the flight's seat map: one operation per group, each a
// projection of the same snapshot.
func (c *client) readSeats(ctx context.Context) {
	res, call, ret := c.do(ctx, http.MethodGet, fmt.Sprintf("/flights/%d/seats", c.flight), "")
	status := map[string]byte{}
	if list, ok := res.body["data"].([]any); ok && res.err == nil && res.status == http.StatusOK {
		for _, v := range list {
			s, _ := v.(map[string]any)
			if st := str(s["status"]); st != "" {
				status[str(s["seat"])] = st[0]
			}
		}
	}
	for g := range c.w.Groups {
		in := Input{Kind: OpReadSeats, Flight: c.flight, Group: g}
		out := c.output(in, res)
		for i := range GroupSize {
			if b, ok := status[Label(g, i)]; ok {
				out.View[i] = b
			} else {
				out.View[i] = '?'
			}
		}
		if g == 0 {
			c.tally(in, out) // one request, one operation per group
		}
		c.append(in, out, call, ret)
	}
}

// output is the common part of an operation's output: whether its outcome
// is known, and the status and code.
func (c *client) output(in Input, res response) Output {
	out := Output{Status: res.status}
	switch {
	case res.err != nil:
		out.Unknown = true
	case res.status >= 500:
		out.Unknown = true
		c.serverErrors = append(c.serverErrors, fmt.Sprintf("%s: %d %s", in.Kind, res.status, res.raw))
	default:
		out.Code = str(res.body["code"])
	}
	return out
}

// record tallies a request and appends its operation to the history.
func (c *client) record(in Input, out Output, call, ret int64) {
	c.tally(in, out)
	c.append(in, out, call, ret)
}

func (c *client) tally(in Input, out Output) {
	c.requests++
	outcome := fmt.Sprint(out.Status)
	if out.Unknown {
		c.unknown++
		outcome = "unknown"
	}
	c.counts[in.Kind.String()+" "+outcome]++
}

// append adds an operation to the history. Operations with an unknown
// outcome that cannot have changed anything are left out: the model accepts
// them anywhere, so they constrain nothing.
func (c *client) append(in Input, out Output, call, ret int64) {
	if out.Unknown && out.Status == 0 {
		// No answer: the request may take effect after the client gave
		// up, at any time.
		ret = math.MaxInt64
	}
	if out.Unknown && (in.Kind == OpReadHold || in.Kind == OpReadSeats || in.Kind == OpExtend) {
		return
	}
	c.ops = append(c.ops, porcupine.Operation{ClientId: c.id, Input: in, Output: out, Call: call, Return: ret})
}

func (c *client) seats(group int, data map[string]any) uint8 {
	m := Mask(group, strs(data["seats"]))
	if f, ok := data["flight_id"].(float64); !ok || int64(f) != c.flight {
		m |= foreignSeat
	}
	return m
}

// times notes the database times a response reports.
func (c *client) times(data map[string]any) {
	if t, err := time.Parse(time.RFC3339Nano, str(data["created_at"])); err == nil && t.After(c.maxCreated) {
		c.maxCreated = t
	}
	if t, err := time.Parse(time.RFC3339Nano, str(data["expires_at"])); err == nil && (c.minExpires.IsZero() || t.Before(c.minExpires)) {
		c.minExpires = t
	}
}

type response struct {
	err    error
	status int
	raw    []byte
	body   map[string]any
	data   map[string]any
}

// do sends one request to a random instance and returns its answer and the
// call and return times.
func (c *client) do(ctx context.Context, method, path, body string) (res response, call, ret int64) {
	if c.w.GiveUp > 0 && c.rnd.Float64() < c.w.GiveUp {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(c.rnd.Int64N(int64(c.w.GiveUpAfter)+1)))
		defer cancel()
	}
	url := c.w.URLs[c.rnd.IntN(len(c.w.URLs))] + path
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return response{err: err}, c.now(), c.now()
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Idempotency-Key", newKey())
	}
	call = c.now()
	defer func() { ret = c.now() }()
	r, err := c.w.Client.Do(req)
	if err != nil {
		return response{err: err}, call, 0
	}
	defer r.Body.Close()
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return response{err: err}, call, 0
	}
	res = response{status: r.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &res.body); err != nil && r.StatusCode < 500 {
		// A 2xx/4xx that is not our JSON: keep the status, which the model
		// will refuse for want of the fields it checks.
		res.body = nil
	}
	res.data, _ = res.body["data"].(map[string]any)
	return res, call, 0
}

func newKey() string {
	var b [12]byte
	rand.Read(b[:])
	return "lincheck-" + hex.EncodeToString(b[:])
}

func str(v any) string { s, _ := v.(string); return s }

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, str(x))
	}
	return out
}

// Probe checks that the fast path has not kept a seat it should have let
// go. With no request in flight on any instance, it reads each flight's seat
// map and asks to hold every seat that reads available, one by one, through
// every instance in turn: each must be granted (and is then released). It
// returns the seats refused, with the answer. A seat key left behind (say by
// a request whose client went away) would refuse a free seat until it
// expires, which the linearizability check, by its one relaxation, cannot see.
func Probe(ctx context.Context, hc *http.Client, urls []string, key string, flightIDs []int64) ([]string, int, error) {
	c := &client{run: &run{w: Workload{URLs: urls, Client: hc}, start: time.Now()}, key: key,
		rnd: mrand.New(mrand.NewPCG(1, 2)), counts: map[string]int{}} // #nosec G404 -- a seeded, reproducible test workload; nothing secret
	var refused []string
	probed := 0
	for _, f := range flightIDs {
		res, _, _ := c.do(ctx, http.MethodGet, fmt.Sprintf("/flights/%d/seats", f), "")
		if res.err != nil || res.status != http.StatusOK {
			return nil, probed, fmt.Errorf("seats of flight %d: %d %s %v", f, res.status, res.raw, res.err)
		}
		list, _ := res.body["data"].([]any)
		for _, v := range list {
			s, _ := v.(map[string]any)
			if str(s["status"]) != "available" {
				continue
			}
			label := str(s["seat"])
			for _, u := range urls {
				probed++
				c.w.URLs = []string{u}
				res, _, _ := c.do(ctx, http.MethodPost, "/holds", fmt.Sprintf(`{"flight_id":%d,"seats":[%q]}`, f, label))
				if res.err != nil {
					return nil, probed, res.err
				}
				if res.status != http.StatusCreated {
					refused = append(refused, fmt.Sprintf("flight %d seat %s via %s: %d %s", f, label, u, res.status, res.raw))
					continue
				}
				res, _, _ = c.do(ctx, http.MethodDelete, "/holds/"+str(res.data["id"]), "")
				if res.err != nil || res.status != http.StatusOK {
					return nil, probed, fmt.Errorf("release probe hold: %d %s %v", res.status, res.raw, res.err)
				}
			}
		}
	}
	return refused, probed, nil
}
