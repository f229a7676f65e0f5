package webhook_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/webhook"
)

// TestBacklogDrainsWithoutWaitingForPasses: passes once a second could
// claim at most PerEndpoint × Batch (16) events or rows each, 96 in the
// first 5 s; the 200 of the backlog all arrive within that because a
// stream claims its endpoint again as soon as it has recorded, and the
// retry dispatch claims an endpoint's next rows as soon as the last of its
// claimed ones starts, not at the next pass.
func TestBacklogDrainsWithoutWaitingForPasses(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine+"/streams", func(t *testing.T) {
			t.Parallel()
			drains(t, engine, false)
		})
		t.Run(engine+"/rows", func(t *testing.T) {
			t.Parallel()
			drains(t, engine, true)
		})
	}
}

// drains sends a backlog of 200 events by Stream passes, or, with rows, as
// 200 pending rows (WebhookRedeliver's) by Dispatch passes, once a second.
func drains(t *testing.T, engine string, rows bool) {
	e := newEnv(t, engine)
	rc := newReceiver(t, nil)
	ep := e.endpoint(t, rc, "")
	d := webhook.New(e.s, testConfig(), nil, prometheus.NewRegistry())
	t.Cleanup(d.Stop)
	evs := e.events(t, 200)
	pass := d.Stream
	if rows {
		for _, ev := range evs {
			if n, err := e.s.WebhookRedeliver(t.Context(), e.key, ev.ID); err != nil || n != 1 {
				t.Fatalf("redeliver = %d, %v", n, err)
			}
		}
		pass = d.Dispatch
		if ss, err := e.s.WebhookStreamClaim(t.Context(), store.WebhookStreamClaimParams{Endpoints: 1, Events: 1, Lease: time.Hour}); err != nil || len(ss) != 1 || ss[0].EndpointID != ep.ID {
			t.Fatalf("hold the stream = %+v, %v", ss, err) // so that only the rows send
		}
	}
	passes := time.NewTicker(time.Second)
	defer passes.Stop()
	deadline := time.After(5 * time.Second)
	for {
		if _, err := pass(t.Context()); err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, ev := range evs {
			if rc.count(ev.ID) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-passes.C:
		case <-deadline:
			t.Fatalf("%d of %d events undelivered after 6 passes of at most 16 claims each", missing, len(evs))
		}
	}
}

// counting counts a dispatcher's claims and recordings, of streams and of
// retry rows alike.
type counting struct {
	store.Webhooks
	claims, records, outcomes atomic.Int64
}

func (c *counting) WebhookStreamClaim(ctx context.Context, p store.WebhookStreamClaimParams) ([]store.WebhookStream, error) {
	c.claims.Add(1)
	return c.Webhooks.WebhookStreamClaim(ctx, p)
}

func (c *counting) WebhookStreamRecord(ctx context.Context, s store.WebhookStream, os []store.WebhookStreamOutcome) (bool, error) {
	c.records.Add(1)
	c.outcomes.Add(int64(len(os)))
	return c.Webhooks.WebhookStreamRecord(ctx, s, os)
}

func (c *counting) WebhookClaim(ctx context.Context, p store.WebhookClaimParams) ([]store.WebhookClaim, error) {
	c.claims.Add(1)
	return c.Webhooks.WebhookClaim(ctx, p)
}

func (c *counting) WebhookRecordMany(ctx context.Context, os []store.WebhookOutcome) ([]store.WebhookRecorded, error) {
	c.records.Add(1)
	c.outcomes.Add(int64(len(os)))
	return c.Webhooks.WebhookRecordMany(ctx, os)
}

// TestDatabaseWorkIsBatched: a backlog sent to a fast receiver costs a
// claim and a recording per batch, not per delivery, and never more than
// PerEndpoint sends at once.
func TestDatabaseWorkIsBatched(t *testing.T) {
	t.Parallel()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine)
			rc := newReceiver(t, nil)
			e.endpoint(t, rc, "")
			st := &counting{Webhooks: e.s}
			reg := prometheus.NewRegistry()
			d := webhook.New(st, testConfig(), nil, reg)
			t.Cleanup(d.Stop)
			evs := e.events(t, 300)
			if _, err := d.Stream(t.Context()); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, "every delivery recorded", func() bool {
				return value(t, reg, "reservd_webhook_deliveries_total", "delivered") == float64(len(evs))
			})
			for _, ev := range evs {
				if n := rc.count(ev.ID); n != 1 {
					t.Errorf("event %s arrived %d times", ev.ID, n)
				}
			}
			claims, records := st.claims.Load(), st.records.Load()
			t.Logf("%d deliveries: %d claims, %d recordings", len(evs), claims, records)
			if claims+records > int64(len(evs))/4 {
				t.Errorf("%d claims and %d recordings for %d deliveries, want batches", claims, records, len(evs))
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if rc.maxIn > testConfig().PerEndpoint {
				t.Errorf("%d sends at once to one endpoint, want at most %d", rc.maxIn, testConfig().PerEndpoint)
			}
		})
	}
}
