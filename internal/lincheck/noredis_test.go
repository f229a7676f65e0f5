package lincheck_test

import (
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reservd/reservd/internal/store"
	"github.com/reservd/reservd/internal/store/postgres"
	"github.com/reservd/reservd/internal/testdb"
)

// TestThreeInstancesWithoutRedis races clients through three instances on
// one PostgreSQL database and no Redis, each with the in-process store as
// reservd wires it there (seatlock.Off: no seat keys). With
// seat keys of their own, instances refused seats another had freed, and
// the probe at the end found them.
func TestThreeInstancesWithoutRedis(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	logs := &logCounter{}
	var urls []string
	var regs []*prometheus.Registry
	var first store.Store
	for i := range 3 {
		st, err := postgres.Open(t.Context(), u.String())
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			first = st
		}
		instance, reg := serve(t, st, instanceConfig(t, "", ""), logs)
		urls, regs = append(urls, instance), append(regs, reg)
	}
	h := record(t, first, urls, regs)
	check(t, "three-instances-without-redis", h)
	report(t, logs, regs)
}
