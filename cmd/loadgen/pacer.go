package main

import (
	"context"
	"time"
)

// pacer spaces requests evenly at a fixed rate: request i (from 0) is due
// at start + i/rate, whichever worker sends it. A worker that finds its
// request already due sends at once, so a run that falls behind catches
// up instead of losing requests (open-loop pacing, as long as enough
// workers are free).
type pacer struct {
	start time.Time
	every time.Duration // 0: no pacing
}

// newPacer returns a pacer of rate requests per second starting now; rate
// 0 paces nothing.
func newPacer(rate float64) pacer {
	p := pacer{start: time.Now()}
	if rate > 0 {
		p.every = time.Duration(float64(time.Second) / rate)
	}
	return p
}

// wait sleeps until request i is due; false if ctx ended first.
func (p pacer) wait(ctx context.Context, i int64) bool {
	if p.every == 0 {
		return ctx.Err() == nil
	}
	d := time.Until(p.start.Add(time.Duration(i) * p.every))
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
