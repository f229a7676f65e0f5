package idempotency

import "time"

// MinRetention is how long API.md promises a key and its answer are kept:
// a retry within a day is answered from storage.
const MinRetention = 24 * time.Hour

// Retention is how long keys are kept (the clean_idempotency_keys job of
// internal/reserve deletes older ones): the promise, plus an hour so that a
// key is never forgotten early by a cleanup that runs hourly.
const Retention = 25 * time.Hour
