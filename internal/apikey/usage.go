package apikey

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Usage remembers when each key was last used, in memory, so that an
// authenticated request costs no database write. A background job hands
// what it gathered to the store with Flush, once a minute: one write per
// key per minute at most, whatever the traffic.
type Usage struct {
	now  func() time.Time
	mu   sync.Mutex
	used map[int64]time.Time // key id → latest use since the last flush
}

// NewUsage returns an empty Usage that reads the time from now.
func NewUsage(now func() time.Time) *Usage {
	return &Usage{now: now, used: map[int64]time.Time{}}
}

// Record notes that key keyID was used now.
func (u *Usage) Record(keyID int64) {
	at := u.now()
	u.mu.Lock()
	if at.After(u.used[keyID]) {
		u.used[keyID] = at
	}
	u.mu.Unlock()
}

// Flush hands the uses recorded since the last flush to write, and reports
// how many keys they were. If write fails, the uses are kept for the next
// flush (later uses recorded meanwhile win).
func (u *Usage) Flush(ctx context.Context, write func(context.Context, map[int64]time.Time) error) (int, error) {
	u.mu.Lock()
	batch := u.used
	u.used = map[int64]time.Time{}
	u.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	if err := write(ctx, batch); err != nil {
		u.mu.Lock()
		for id, at := range batch {
			if at.After(u.used[id]) {
				u.used[id] = at
			}
		}
		u.mu.Unlock()
		return 0, err
	}
	return len(batch), nil
}

// Pending returns a copy of the uses not yet flushed.
func (u *Usage) Pending() map[int64]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.used)
}
