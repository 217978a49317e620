package router

import "sync/atomic"

// RoundRobin visits the dynos in turn, blind to how busy each is.
type RoundRobin struct{ next atomic.Uint64 }

var _ Strategy = (*RoundRobin)(nil)

// Pick returns the dyno after the one picked last.
func (s *RoundRobin) Pick(inflight []int64) int {
	return int((s.next.Add(1) - 1) % uint64(len(inflight)))
}

func init() { register("round-robin", func(int64) Strategy { return &RoundRobin{} }) }
