package router

import "sync/atomic"

// LeastConn picks the dyno with the fewest requests in flight from this
// router; ties go to the dynos in turn, so an idle pool is shared evenly.
type LeastConn struct{ next atomic.Uint64 }

var _ Strategy = (*LeastConn)(nil)

// Pick returns the index of the least busy dyno.
func (s *LeastConn) Pick(inflight []int64) int {
	n := len(inflight)
	start := int((s.next.Add(1) - 1) % uint64(n))
	best := start
	for k := 1; k < n; k++ {
		i := (start + k) % n
		if inflight[i] < inflight[best] {
			best = i
		}
	}
	return best
}

func init() { register("least-conn", func(int64) Strategy { return &LeastConn{} }) }
