package seatlock

import (
	"context"
	"time"
)

// CacheOnly keeps c's read cache and turns its seat fast path off: Acquire
// takes nothing and refuses nothing, and the other Locker calls do nothing.
//
// An in-process fast path is only right where its process is the database's
// only writer (the embedded engine). Beside other replicas it would refuse
// seats they freed: a key this process set for a hold lives on after another
// replica releases the hold, until the hold's TTL. Without a shared fast
// path (Redis), every seat question goes to the database.
func CacheOnly(c Store) Store { return cacheOnly{c} }

type cacheOnly struct{ Store }

func (cacheOnly) Acquire(context.Context, int64, []string, string, time.Duration) ([]string, error) {
	return nil, nil
}
func (cacheOnly) Release(context.Context, int64, []string, string) error               { return nil }
func (cacheOnly) Extend(context.Context, int64, []string, string, time.Duration) error { return nil }
func (cacheOnly) Transfer(context.Context, int64, []string, string, string, time.Duration) error {
	return nil
}
