package seatlock

import (
	"context"
	"time"
)

// Off is a Locker that knows nothing: Acquire takes nothing and refuses
// nothing, and the other calls do nothing, so every seat question goes to
// the database.
//
// An in-process fast path is only right where its process is the
// database's only writer (the embedded engine). Beside other replicas it
// would refuse seats they freed: a key this process set for a hold lives on
// after another replica releases the hold, until the hold's TTL. Without a
// shared fast path (Redis), replicas use Off.
type Off struct{}

var _ Locker = Off{}

// Acquire implements Locker: nothing is taken.
func (Off) Acquire(context.Context, int64, []string, string, time.Duration) ([]string, error) {
	return nil, nil
}

// Release implements Locker.
func (Off) Release(context.Context, int64, []string, string) error { return nil }

// Extend implements Locker.
func (Off) Extend(context.Context, int64, []string, string, time.Duration) error { return nil }

// Transfer implements Locker.
func (Off) Transfer(context.Context, int64, []string, string, string, time.Duration) error {
	return nil
}
