package seatlock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// SeatOp is one owner's seats of one flight, for the batched calls.
type SeatOp struct {
	FlightID int64
	Seats    []string
	Owner    string
	TTL      time.Duration // for acquisitions
}

// BatchLocker does a batch of holds' fast-path work in one round trip per
// call, where a Locker would take one per hold. Redis implements it with
// pipelines; AcquireMany and Settle fall back to the Locker's own calls for
// implementations that do not.
type BatchLocker interface {
	// AcquireMany is Acquire of each op in order: taken[i] answers ops[i].
	AcquireMany(ctx context.Context, ops []SeatOp) (taken [][]string, err error)
	// Settle releases the release ops' seats (compare-and-delete) and
	// acquires the acquire ops' seats.
	Settle(ctx context.Context, release, acquire []SeatOp) error
}

// AcquireMany acquires each op's seats, in one round trip when l is a BatchLocker.
func AcquireMany(ctx context.Context, l Locker, ops []SeatOp) ([][]string, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	if b, ok := l.(BatchLocker); ok {
		return b.AcquireMany(ctx, ops)
	}
	taken := make([][]string, len(ops))
	for i, op := range ops {
		t, err := l.Acquire(ctx, op.FlightID, op.Seats, op.Owner, op.TTL)
		if err != nil {
			return nil, err
		}
		taken[i] = t
	}
	return taken, nil
}

// Settle releases and acquires what a batch decided, in one round trip
// when s is a BatchLocker. Every part is tried; the errors are joined.
func Settle(ctx context.Context, s Locker, release, acquire []SeatOp) error {
	if len(release) == 0 && len(acquire) == 0 {
		return nil
	}
	if b, ok := s.(BatchLocker); ok {
		return b.Settle(ctx, release, acquire)
	}
	var errs []error
	for _, op := range release {
		errs = append(errs, s.Release(ctx, op.FlightID, op.Seats, op.Owner))
	}
	for _, op := range acquire {
		_, err := s.Acquire(ctx, op.FlightID, op.Seats, op.Owner, op.TTL)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var _ BatchLocker = (*Redis)(nil)

// AcquireMany implements BatchLocker: one pipeline of acquire scripts.
func (r *Redis) AcquireMany(ctx context.Context, ops []SeatOp) ([][]string, error) {
	norm := make([]SeatOp, len(ops))
	for i, op := range ops {
		seats, err := normalizeSeats(op.Seats)
		if err != nil {
			return nil, err
		}
		if err := checkOwner("owner", op.Owner); err != nil {
			return nil, err
		}
		if err := checkTTL(op.TTL); err != nil {
			return nil, err
		}
		op.Seats = seats
		norm[i] = op
	}
	var cmds []*redis.Cmd
	err := r.pipelined(ctx, func(p redis.Pipeliner, run runFunc) {
		cmds = cmds[:0]
		for _, op := range norm {
			cmds = append(cmds, run(p, acquireScript, r.seatKeys(op.FlightID, op.Seats), op.Owner, millis(op.TTL)))
		}
	})
	if err != nil {
		return nil, fmt.Errorf("seatlock: redis acquire many: %w", err)
	}
	taken := make([][]string, len(norm))
	for i, c := range cmds {
		idx, err := c.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("seatlock: redis acquire many: %w", err)
		}
		for _, j := range idx {
			if j < 1 || j > int64(len(norm[i].Seats)) {
				return nil, fmt.Errorf("seatlock: redis acquire many: bad index %d in script reply", j)
			}
			taken[i] = append(taken[i], norm[i].Seats[j-1])
		}
	}
	return taken, nil
}

// Settle implements BatchLocker: one pipeline of release and acquire scripts.
func (r *Redis) Settle(ctx context.Context, release, acquire []SeatOp) error {
	for _, ops := range [][]SeatOp{release, acquire} {
		for _, op := range ops {
			if len(op.Seats) == 0 || op.Owner == "" {
				return fmt.Errorf("%w: empty seats or owner", ErrInvalid)
			}
		}
	}
	for _, op := range acquire {
		if err := checkTTL(op.TTL); err != nil {
			return err
		}
	}
	err := r.pipelined(ctx, func(p redis.Pipeliner, run runFunc) {
		for _, op := range release {
			run(p, releaseScript, r.seatKeys(op.FlightID, op.Seats), op.Owner)
		}
		for _, op := range acquire {
			run(p, acquireScript, r.seatKeys(op.FlightID, op.Seats), op.Owner, millis(op.TTL))
		}
	})
	if err != nil {
		return fmt.Errorf("seatlock: redis settle: %w", err)
	}
	return nil
}

type runFunc func(p redis.Pipeliner, s *redis.Script, keys []string, args ...any) *redis.Cmd

// pipelined sends what queue queues in one round trip, the scripts by their
// digest; should Redis not know a script (restarted, flushed), it sends
// them all again in full.
func (r *Redis) pipelined(ctx context.Context, queue func(p redis.Pipeliner, run runFunc)) error {
	ctx, cancel := r.bound(ctx)
	defer cancel()
	for _, full := range []bool{false, true} {
		cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			queue(p, func(p redis.Pipeliner, s *redis.Script, keys []string, args ...any) *redis.Cmd {
				if full {
					return s.Eval(ctx, p, keys, args...)
				}
				return s.EvalSha(ctx, p, keys, args...)
			})
			return nil
		})
		noScript := false
		for _, c := range cmds {
			if e := c.Err(); e != nil && redis.HasErrorPrefix(e, "NOSCRIPT") {
				noScript = true
			}
		}
		if !noScript || full {
			if errors.Is(err, redis.Nil) {
				err = nil
			}
			return err
		}
	}
	return nil
}
