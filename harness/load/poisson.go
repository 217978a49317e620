package load

import (
	"math"
	"math/rand"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Arrival processes a load may follow (scenario key load.arrivals).
const (
	// ArrivalsConstant sends hits evenly spaced along the stages (vegeta's
	// way): deterministic inter-arrival times.
	ArrivalsConstant = "constant"
	// ArrivalsPoisson sends hits as a Poisson process whose rate follows
	// the stages: exponential inter-arrival times, as independent
	// customers arrive. Queueing formulas (M/M/1, M/G/1, M/M/c) assume it.
	ArrivalsPoisson = "poisson"
)

// PoissonPacer paces hits as a Poisson process whose intensity follows
// piecewise-linear stages (a non-homogeneous Poisson process), made by
// time-changing a unit-rate Poisson process. With H(t) the hits the stages
// make due by elapsed t (see StagesPacer) and E₁, E₂, … independent Exp(1)
// draws from Seed, hit k (0-based) is due at
//
//	Tₖ = H⁻¹(E₁ + … + Eₖ₊₁)
//
// so at a constant rate λ the gaps Tₖ − Tₖ₋₁ are Exp(λ) and the hits sent
// in any window of length w number Poisson(λw). Pace is a pure function of
// (elapsed, hits): the draws are remembered only to make the usual call
// pattern (hits counting up by one) cost O(1); asking for an earlier hit
// replays the seeded source. Safe for concurrent use.
type PoissonPacer struct {
	stages StagesPacer
	seed   int64

	mu  sync.Mutex
	rng *rand.Rand
	k   uint64  // epochs drawn so far
	sum float64 // E₁ + … + Eₖ
}

var _ vegeta.Pacer = (*PoissonPacer)(nil)

// NewPoissonPacer returns a PoissonPacer along stages, its draws seeded
// with seed (same seed, same arrival times).
func NewPoissonPacer(stages []Stage, seed int64) *PoissonPacer {
	return &PoissonPacer{stages: stages, seed: seed}
}

// epoch returns E₁ + … + Eₙ, the n-th epoch of the unit-rate process.
func (p *PoissonPacer) epoch(n uint64) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng == nil || n < p.k {
		p.rng, p.k, p.sum = rand.New(rand.NewSource(p.seed)), 0, 0
	}
	for p.k < n {
		p.sum += p.rng.ExpFloat64()
		p.k++
	}
	return p.sum
}

// Pace returns how long to wait before the next hit; it stops once the
// next hit would fall after the last stage. Like StagesPacer's, the
// number of hits depends on the seed and the stages alone, never on
// timing: a hit sent late is not skipped.
func (p *PoissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due, ok := p.stages.at(p.epoch(hits + 1))
	if !ok {
		return 0, true
	}
	if due <= elapsed {
		return 0, false // behind: hit now
	}
	return due - elapsed, false
}

// Rate is the intensity at elapsed, hits per second.
func (p *PoissonPacer) Rate(elapsed time.Duration) float64 { return p.stages.Rate(elapsed) }

// at inverts H: the elapsed time at which h hits are due, false when the
// stages never make that many. Within a stage going from rate a to b over
// D, H(x) = a·x + k·x² with k = (b−a)/(2D), whose root is
//
//	x = 2h / (a + √(a² + 4kh))
//
// (the form that stays exact as k → 0).
func (p StagesPacer) at(h float64) (time.Duration, bool) {
	var base time.Duration
	if h <= 0 {
		return 0, len(p) > 0
	}
	for _, s := range p {
		d := s.Duration.Seconds()
		k := (s.To - s.From) / (2 * d)
		in := s.From*d + k*d*d // hits in this stage
		if h <= in && in > 0 {
			x := 2 * h / (s.From + math.Sqrt(max(s.From*s.From+4*k*h, 0)))
			return base + time.Duration(min(x, d)*float64(time.Second)), true
		}
		h -= in
		base += s.Duration
	}
	return 0, false
}
