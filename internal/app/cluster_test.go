package app_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reservd/reservd/internal/aggregator"
	"github.com/reservd/reservd/internal/apikey"
	"github.com/reservd/reservd/internal/app"
	"github.com/reservd/reservd/internal/config"
	"github.com/reservd/reservd/internal/seatlock"
	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/store/storetest"
	"github.com/reservd/reservd/internal/testdb"
)

// Shape of TestRedisClusterStorm: bounded so that it runs in `go test ./...`.
const (
	clusterReplicas = 2
	clusterFlights  = 6
	clusterRows     = 6
	clusterWorkers  = 12
	clusterBefore   = 3 * time.Second // storm with every master up
	clusterAfter    = 5 * time.Second // storm with one master dead
)

// TestRedisClusterStorm: two replicas on one PostgreSQL and a three-master
// Redis Cluster (REDIS_CLUSTER=true) serve a storm of holds, bookings and
// releases over flights spread across the masters; one master is killed
// mid-storm. The seat fast path, caches and rate limits of the dead
// master's slots fall back as with a single Redis down: no request fails,
// no seat is sold twice, every acknowledged booking is in the database.
func TestRedisClusterStorm(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cl := testdb.StartRedisCluster(t)

	dbURL := testdb.PostgresURL(t)
	st, err := postgres.Open(ctx, withDBParam(dbURL, "pool_max_conns", "2"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	newKey := func(name string, admin bool) string {
		key, digest := apikey.Generate()
		if _, err := st.APIKeyCreate(ctx, store.APIKeyCreateParams{Name: name, Digest: digest, Admin: admin}); err != nil {
			t.Fatal(err)
		}
		return key
	}
	admin := newKey("ops", true)
	var customers []string
	for i := range 4 {
		customers = append(customers, newKey(fmt.Sprintf("customer-%d", i), false))
	}

	prefix := testdb.UniquePrefix(t)
	var urls []string
	var apps []*app.App
	for range clusterReplicas {
		cfg, err := config.Load(func(name string) string {
			return map[string]string{"DATABASE_URL": withDBParam(dbURL, "pool_max_conns", "5"),
				"REDIS_URL": cl.URL, "REDIS_CLUSTER": "true", "REDIS_PREFIX": prefix,
				"RATE_LIMIT": "1000000", "RATE_BURST": "1000000"}[name]
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(ctx, cfg, app.Env{}, app.Overrides{
			Providers: func(*http.Client) []aggregator.Source { return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(a.Handler())
		t.Cleanup(func() { srv.Close(); a.Close() })
		urls = append(urls, srv.URL)
		apps = append(apps, a)
	}
	redisReady := func() error {
		for _, c := range apps[0].Ready() {
			if c.Name == "redis" {
				return c.Check(ctx)
			}
		}
		t.Fatal("no redis readiness check")
		return nil
	}
	if err := redisReady(); err != nil {
		t.Fatalf("redis check with every master up: %v", err)
	}
	hc := &http.Client{Timeout: 20 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	do := func(method, path, key, body string) (int, map[string]any, error) {
		req, err := http.NewRequest(method, urls[rand.IntN(len(urls))]+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if method != "GET" {
			var b [8]byte
			crand.Read(b[:])
			req.Header.Set("Idempotency-Key", hex.EncodeToString(b[:]))
		}
		res, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if err != nil {
			return 0, nil, err
		}
		var m struct {
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(raw, &m)
		if m.Data == nil {
			m.Data = map[string]any{"raw": string(raw)}
		}
		return res.StatusCode, m.Data, nil
	}

	// Flights whose seat keys live on every master, and which master
	// holds each flight's keys.
	rdb, err := seatlock.NewRedisClusterClient(cl.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	keys, err := seatlock.NewRedis(rdb, seatlock.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	var flights []int64
	master := map[int64]string{}
	for range clusterFlights {
		var seats []string
		for r := 1; r <= clusterRows; r++ {
			for _, l := range "ABCDEF" {
				seats = append(seats, fmt.Sprintf(`{"seat":"%d%c","cabin":"economy","price":{"amount":10000,"currency":"USD"}}`, r, l))
			}
		}
		code, d, err := do("POST", "/flights", admin, `{"number":"RV901","origin":"SFO","destination":"JFK","departs_at":"2030-06-01T08:00:00Z","arrives_at":"2030-06-01T13:30:00Z","seats":[`+strings.Join(seats, ",")+`]}`)
		if err != nil || code != 201 {
			t.Fatalf("POST /flights = %d %v %v", code, d, err)
		}
		id := int64(d["id"].(float64))
		flights = append(flights, id)
		n, err := rdb.MasterForKey(ctx, keys.SeatKey(id, "1A"))
		if err != nil {
			t.Fatal(err)
		}
		master[id] = n.Options().Addr
	}
	// Kill the master of the first flight's seats.
	victim := 0
	for i, a := range cl.Addrs {
		if a == master[flights[0]] {
			victim = i
		}
	}
	onVictim := func(f int64) bool { return master[f] == cl.Addrs[victim] }

	var (
		mu                sync.Mutex
		booked            = map[string][]string{} // acknowledged booking → seats
		errs, ops         atomic.Int64
		heldAfterKill     atomic.Int64 // holds acknowledged on the dead master's flights
		killed            atomic.Bool
		conflicts, others atomic.Int64
	)
	stop := time.Now().Add(clusterBefore + clusterAfter)
	var wg sync.WaitGroup
	for w := range clusterWorkers {
		wg.Go(func() {
			key := customers[w%len(customers)]
			var holds []string
			for time.Now().Before(stop) {
				var code int
				var d map[string]any
				var err error
				switch op := rand.IntN(10); {
				case op < 5 || len(holds) == 0:
					f := flights[rand.IntN(len(flights))]
					n := 1 + rand.IntN(2)
					var seats []string
					for _, i := range rand.Perm(clusterRows * 6)[:n] {
						seats = append(seats, fmt.Sprintf(`"%d%c"`, 1+i/6, "ABCDEF"[i%6]))
					}
					code, d, err = do("POST", "/holds", key, fmt.Sprintf(`{"flight_id":%d,"seats":[%s]}`, f, strings.Join(seats, ",")))
					if err == nil && code == 201 {
						holds = append(holds, d["id"].(string))
						if killed.Load() && onVictim(f) {
							heldAfterKill.Add(1)
						}
					}
				case op < 8:
					h := holds[rand.IntN(len(holds))]
					code, d, err = do("POST", "/bookings", key, fmt.Sprintf(`{"hold_id":%q,"payment":{"token":"tok_visa"}}`, h))
					if err == nil && code == 201 {
						var seats []string
						for _, s := range d["seats"].([]any) {
							seats = append(seats, s.(string))
						}
						mu.Lock()
						booked[d["id"].(string)] = seats
						mu.Unlock()
					}
				default:
					code, d, err = do("DELETE", "/holds/"+holds[rand.IntN(len(holds))], key, "")
				}
				ops.Add(1)
				switch {
				case err != nil || code >= 500:
					errs.Add(1)
					t.Errorf("request failed (master killed: %v): %v %d %v", killed.Load(), err, code, d)
				case code == 409:
					conflicts.Add(1)
				case code >= 400:
					if others.Add(1) == 1 {
						t.Logf("first other 4xx: %d %v", code, d)
					}
				}
			}
		})
	}
	time.Sleep(clusterBefore)
	// The fast path is in use: the storm left seat keys in the cluster.
	var seatKeys atomic.Int64
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := c.Keys(ctx, prefix+":seat:*").Result()
		seatKeys.Add(int64(len(n)))
		return err
	}); err != nil {
		t.Errorf("count seat keys: %v", err)
	}
	if seatKeys.Load() == 0 {
		t.Errorf("no seat keys under %s in the cluster: the storm did not use it", prefix)
	}
	if err := cl.Kill(victim); err != nil {
		t.Fatal(err)
	}
	killed.Store(true)
	// The check reads every master: down on every call, not one in three.
	for range 5 {
		if err := redisReady(); err == nil || !strings.Contains(err.Error(), cl.Addrs[victim]) {
			t.Errorf("redis check with master %s dead = %v, want it named", cl.Addrs[victim], err)
		}
	}
	wg.Wait()

	// No seat twice, per flight; every acknowledged booking is there with
	// its seats, and nothing else is (no request's answer was lost).
	all := map[string][]string{}
	for _, f := range flights {
		byID, _, _ := storetest.AuditSeats(t, context.Background(), st, f)
		for id, b := range byID {
			all[id] = b.Seats
		}
	}
	for id, seats := range booked {
		got, ok := all[id]
		if !ok {
			t.Errorf("acknowledged booking %s is missing", id)
		} else if strings.Join(got, ",") != strings.Join(seats, ",") {
			t.Errorf("booking %s has seats %v, the client was told %v", id, got, seats)
		}
	}
	if len(all) != len(booked) {
		t.Errorf("%d bookings in the database, %d acknowledged", len(all), len(booked))
	}
	t.Logf("cluster storm: %d requests, %d bookings, %d conflicts, %d other 4xx, %d holds on the dead master's flights after the kill, %d seat keys before it, %d errors",
		ops.Load(), len(booked), conflicts.Load(), others.Load(), heldAfterKill.Load(), seatKeys.Load(), errs.Load())
	if len(booked) == 0 {
		t.Error("the storm booked nothing")
	}
	if heldAfterKill.Load() == 0 {
		t.Error("no hold on the dead master's flights succeeded after the kill: the database fallback did not serve them")
	}
}

// withDBParam sets a query parameter of a database URL.
func withDBParam(raw, key, value string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
