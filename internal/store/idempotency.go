package store

import "github.com/reservd/reservd/internal/idempotency"

// IdempotencyKeys is the bookkeeping that makes requests exactly-once. Its
// contract, and the types it speaks, belong to package idempotency, which
// consumes it; the store seam includes it so that each engine implements it
// beside the transactions that complete keys.
type IdempotencyKeys = idempotency.Store
