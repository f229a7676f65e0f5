package config

// Setting is one environment variable Load reads, its default and what it
// does: what `reservd --help` lists. TestSettingsMatchLoad fails when this
// table and Load disagree (a variable missing from either, or a default
// that is not Load's), so the help cannot drift from the parsing.
type Setting struct {
	Name    string
	Default string // "" when unset by default
	Help    string
}

// Settings lists every variable Load reads itself, in the README's order.
// The flight providers' variables come from internal/provider/registry.
var Settings = []Setting{
	{"ADDR", DemoAddr, "listen address; " + DefaultAddr + " when DATABASE_URL is set"},
	{"DATABASE_URL", "", "postgres://… selects PostgreSQL; unset keeps the embedded SQLite database"},
	{"DATABASE_DIRECT_URL", "", "PostgreSQL without a pooler, for the migrations' advisory lock (set when DATABASE_URL goes through PgBouncer)"},
	{"DATA_DIR", "./data", "where the embedded database lives"},
	{"REDIS_URL", "", "redis://… puts seat locks, caches and limits in Redis; unset keeps them in process"},
	{"REDIS_CLUSTER", "false", "true: REDIS_URL names Redis Cluster seed nodes, redis://host1:7001?addr=host2:7002&addr=host3:7003"},
	{"REDIS_PREFIX", "reservd", "namespace of every Redis key, so deployments can share one Redis"},
	{"HOLD_TTL", "10m", "how long a hold lasts"},
	{"HOLD_MAX_LIFETIME", "30m", "extensions never push a hold past created_at + this"},
	{"HOLD_MAX_SEATS", "10", "seats per hold"},
	{"HOLD_BATCH", "on", "on: concurrent holds share one transaction (group commit); off: one transaction each"},
	{"HOLD_BATCH_SLOTS", "2", "batch transactions running at once per replica; a batch takes every hold that queued meanwhile"},
	{"HOLD_BATCH_WINDOW", "0s", "how long a batch's first hold also waits for others (at most 10ms; 0: a hold finding a slot free starts at once)"},
	{"HOLD_BATCH_MAX", "64", "most holds in one batch"},
	{"QUEUE_TOKEN_SECRET", "", "signs waiting-room Queue-Tokens (at least 32 bytes, the same on every replica); unset: generated once and kept in the database"},
	{"HOLD_MAX_SEATS_PER_FLIGHT", "10", "seats one customer may hold on one flight across its live holds; 0: no limit"},
	{"HOLD_MAX_ACTIVE", "20", "live holds one customer may have in all; 0: no limit"},
	{"SEED_DEMO", "true", "load the demo catalogue into an empty embedded database"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"LOG_FORMAT", "text", "text or json"},
	{"DRAIN_DELAY", "0s", "on SIGTERM, how long /readyz answers 503 before the listener closes (load balancers drain)"},
	{"SHUTDOWN_TIMEOUT", "20s", "on SIGTERM, how long in-flight requests and jobs may finish"},
	{"SWEEP_INTERVAL", "5s", "how often expired holds are tidied and interrupted payments recovered"},
	{"PAYMENT_LEASE", "30s", "how long a booking request owns its payment before recovery may finish it"},
	{"IDEMPOTENCY_LEASE", "1m", "how long a keyed change owns its Idempotency-Key before a repeat may take it over (a replica died); the change may run for half of it (at least 2s)"},
	{"TRIP_LEASE", "30s", "how long a worker owns a trip before another replica may take it over"},
	{"EVENT_SEQUENCE_INTERVAL", "100ms", "how often committed events are put in order for the feed, streams and webhooks (an event shows about this long after its commit)"},
	{"EVENT_RETENTION", "720h", "how long events are kept (at least 720h: 30 days are promised)"},
	{"RATE_LIMIT", "50", "requests per second per API key; 0 turns limits off"},
	{"RATE_BURST", "100", "burst of requests per API key above RATE_LIMIT"},
	{"MAX_IN_FLIGHT", "512", "requests served at once; past it 503 overloaded (0: no cap)"},
	{"MAX_IN_FLIGHT_PER_KEY", "64", "requests of one API key served at once; past it 429 rate_limited (0: no cap)"},
	{"STREAM_MAX_PER_KEY", "5", "open event streams (GET /events/stream) of one API key; past it 429 rate_limited (0: no cap)"},
	{"STREAM_MAX_TOTAL", "2000", "open streams (events and seat maps) per replica; past it 503 overloaded (0: no cap)"},
	{"STREAM_HEARTBEAT", "15s", "how often an idle stream gets a comment line (at most 15s)"},
	{"STREAM_POLL_INTERVAL", "500ms", "how often streams read without a wake-up (10ms to 1s): a lost notification costs at most this"},
	{"MAX_CONNECTIONS", "1024", "open client connections; allow this + 256 file descriptors (0: no cap)"},
	{"AUTH_FAILURE_LIMIT", "1", "invalid API keys per second per client address before 429 (0: no limit)"},
	{"AUTH_FAILURE_BURST", "20", "burst of invalid API keys per client address"},
	{"API_KEY_CACHE_TTL", "5s", "how long a replica trusts a key it looked up (a revoked key works until then); 0 looks up every request's key"},
	{"WEBHOOK_DELIVER", "true", "false: this replica writes events but never sends them to webhook endpoints; leave delivery to replicas with true (API replicas beside delivery workers)"},
	{"WEBHOOK_ALLOW_PRIVATE", "false", "true lets webhook endpoints use http:// and loopback, private or link-local addresses (development and tests only)"},
	{"WEBHOOK_RETRY_BASE", "30s", "first webhook retry's backoff ceiling, doubled per attempt up to 1h, with full jitter"},
	{"WEBHOOK_RETRY_FOR", "72h", "how long a failing webhook delivery is retried before its endpoint is disabled"},
	{"WEBHOOK_CONCURRENCY", "16", "webhook deliveries sent at once per replica"},
	{"WEBHOOK_CONCURRENCY_PER_ENDPOINT", "2", "webhook deliveries sent at once to one endpoint per replica"},
	{"WEBHOOK_INTERVAL", "200ms", "how often each replica looks for new events to send to webhook endpoints and claims due retries, at the latest (new events wake these passes at once)"},
	{"PROVIDER_TIMEOUT", "2s", "one flight provider call"},
	{"SEARCH_BUDGET", "3s", "one whole offer search across providers"},
	{"FX_RATES_FILE", "", "a JSON table of exchange rates; unset uses the shipped one"},
	{"DEBUG_ADDR", "", "serve Go's net/http/pprof on this address (keep it off public networks)"},
}
