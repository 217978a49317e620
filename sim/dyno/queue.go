package dyno

import (
	"context"
	"sync/atomic"
	"time"
)

// queue is a dyno's workers and its backlog: a pool of worker tokens (a
// buffered channel: blocked receivers are served first come, first
// served) and a count of the orders waiting for one.
//
// Each token carries the model time its worker became free, so a worker's
// model clock never picks up the machine's lateness: an order that waited
// starts at the moment the previous order's modelled busy time ended, not
// when the sleeping goroutine happened to wake (Go's timers can fire up to
// a millisecond late, which time compression would multiply by speed).
type queue struct {
	free    chan time.Time // one token per idle worker: when it became free
	limit   int64          // the backlog: how many may wait
	waiting atomic.Int64
	running atomic.Int64
}

func newQueue(workers, backlog int) *queue {
	q := &queue{free: make(chan time.Time, workers), limit: int64(backlog)}
	for range workers {
		q.free <- time.Time{}
	}
	return q
}

// enter takes a worker for an order that arrived at arrived, waiting in
// the backlog when every worker is busy, and returns the order's model
// start: the later of its arrival and the moment its worker became free.
// It returns false at once when the backlog is full, and false when ctx
// ends while waiting.
func (q *queue) enter(ctx context.Context, arrived time.Time) (time.Time, bool) {
	select {
	case freed := <-q.free:
		q.running.Add(1)
		return later(arrived, freed), true
	default:
	}
	for {
		n := q.waiting.Load()
		if n >= q.limit {
			return time.Time{}, false
		}
		if q.waiting.CompareAndSwap(n, n+1) {
			break
		}
	}
	defer q.waiting.Add(-1)
	select {
	case freed := <-q.free:
		q.running.Add(1)
		return later(arrived, freed), true
	case <-ctx.Done():
		return time.Time{}, false
	}
}

// leave gives the worker taken by enter back, free since freed.
func (q *queue) leave(freed time.Time) {
	q.running.Add(-1)
	q.free <- freed
}

// full reports whether the next order would be refused.
func (q *queue) full() bool {
	return len(q.free) == 0 && q.waiting.Load() >= q.limit
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
