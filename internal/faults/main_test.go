package faults

import (
	"flag"
	"os"
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestMain checks that every subtest stops everything it started:
// instances, their jobs and pools, the storm's clients, the simulators and
// the toxiproxy servers with their proxies.
//
// Ignored, by design of the libraries:
//   - toxiproxy's toxic stubs (toxics.(*ToxicStub).Run): a toxic hands each
//     chunk to the next stage with an unguarded channel send (bandwidth,
//     latency, noop, …). When the connection dies while a toxic holds a
//     chunk (a client that gave up on a slowed answer), nothing reads that
//     channel any more and the stub's goroutine blocks for the life of the
//     process. It holds no connection (the link closed both ends).
//   - pgxpool's background health check: pool.Close returns before it
//     notices.
//
// The subtests mostly wait (on injected latency, black holes, leases), so
// unless -parallel is given, four run at once instead of GOMAXPROCS (two
// with CHAOS_FULL): the package then takes under a minute on two cores,
// with at most 48 PostgreSQL connections (40 with CHAOS_FULL).
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		parallel := "4"
		if os.Getenv("CHAOS_FULL") != "" {
			parallel = "2" // three instances each, for longer
		}
		flag.Set("test.parallel", parallel)
	}
	// toxiproxy's toxics log through zerolog's global logger.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
		goleak.IgnoreAnyFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
	)
}
