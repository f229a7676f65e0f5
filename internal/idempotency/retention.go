package idempotency

import (
	"context"
	"fmt"
	"time"
)

// MinRetention is how long API.md promises a key and its answer are kept:
// a retry within a day is answered from storage.
const MinRetention = 24 * time.Hour

// Retention is how long keys are kept: the promise, plus an hour so that a
// key is never forgotten early by a cleanup that runs hourly.
const Retention = 25 * time.Hour

// Clean forgets keys older than age, which may not be under MinRetention,
// and returns how many.
func Clean(ctx context.Context, s Store, age time.Duration) (int64, error) {
	if age < MinRetention {
		return 0, fmt.Errorf("clean idempotency keys: age %v is under the %v the API promises", age, MinRetention)
	}
	return s.IdempotencyKeyDeleteOlderThan(ctx, age)
}
