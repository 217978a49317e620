package router

// Random picks a dyno uniformly at random, blind to how busy each is: the
// routing that made the original design's dynos back up.
type Random struct{ rng *lockedRand }

var _ Strategy = (*Random)(nil)

// NewRandom returns a Random seeded with seed.
func NewRandom(seed int64) *Random { return &Random{rng: newLockedRand(seed)} }

// Pick returns a uniformly random index.
func (s *Random) Pick(inflight []int64) int { return s.rng.Intn(len(inflight)) }

func init() { register("random", func(seed int64) Strategy { return NewRandom(seed) }) }
