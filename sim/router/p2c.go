package router

// P2C is the power of two choices: two distinct dynos drawn at random,
// the one with fewer requests in flight wins (the first drawn on a tie).
// Nearly as good as least-conn, without looking at every dyno.
type P2C struct{ rng *lockedRand }

var _ Strategy = (*P2C)(nil)

// NewP2C returns a P2C seeded with seed.
func NewP2C(seed int64) *P2C { return &P2C{rng: newLockedRand(seed)} }

// Pick returns the less busy of two random dynos.
func (s *P2C) Pick(inflight []int64) int {
	if len(inflight) == 1 {
		return 0
	}
	a, b := s.rng.pair(len(inflight))
	if inflight[b] < inflight[a] {
		return b
	}
	return a
}

func init() { register("p2c", func(seed int64) Strategy { return NewP2C(seed) }) }
