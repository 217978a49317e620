// Package dist holds the probability distributions the simulation samples
// from: service times, gateway latencies, order amounts. A Spec names a
// distribution and its parameters (in whatever unit the caller uses: seconds
// for times, cents for money); Spec.Dist turns it into a Dist.
//
// Every Dist also knows its first two moments, so queueing formulas
// (Pollaczek–Khinchine needs E[S] and E[S²]) can be checked against it.
package dist

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"sync"
)

// Dist is a distribution of non-negative values.
type Dist interface {
	// Sample draws one value using r.
	Sample(r *rand.Rand) float64
	// Mean is E[X].
	Mean() float64
	// SecondMoment is E[X²].
	SecondMoment() float64
}

// Spec names a distribution and its parameters. Only the parameters of
// Kind are read; Validate says which are missing.
type Spec struct {
	Kind    string    `json:"dist"`
	Value   float64   `json:"value,omitempty"`   // const
	Min     float64   `json:"min,omitempty"`     // uniform
	Max     float64   `json:"max,omitempty"`     // uniform
	Mean    float64   `json:"mean,omitempty"`    // exponential
	Median  float64   `json:"median,omitempty"`  // lognormal
	P99     float64   `json:"p99,omitempty"`     // lognormal
	Shape   float64   `json:"shape,omitempty"`   // weibull
	Scale   float64   `json:"scale,omitempty"`   // weibull
	Samples []float64 `json:"samples,omitempty"` // empirical
}

// builder makes a Dist from a Spec, or says what is wrong with it.
type builder func(Spec) (Dist, error)

var kinds = map[string]builder{}

// register adds a distribution kind; each kind's file calls it in init.
func register(name string, b builder) { kinds[name] = b }

// Kinds lists the registered distribution names, sorted.
func Kinds() []string {
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Dist builds the distribution s describes.
func (s Spec) Dist() (Dist, error) {
	b, ok := kinds[s.Kind]
	if !ok {
		return nil, fmt.Errorf("unknown distribution %q (one of %s)", s.Kind, strings.Join(Kinds(), ", "))
	}
	return b(s)
}

// Validate reports what is wrong with s, or nil.
func (s Spec) Validate() error {
	_, err := s.Dist()
	return err
}

// Scaled returns s with every parameter that carries a unit multiplied by f
// (shape is unitless). The harness uses it to turn model time into wall time.
func (s Spec) Scaled(f float64) Spec {
	out := s
	out.Value *= f
	out.Min *= f
	out.Max *= f
	out.Mean *= f
	out.Median *= f
	out.P99 *= f
	out.Scale *= f
	if s.Samples != nil {
		out.Samples = make([]float64, len(s.Samples))
		for i, v := range s.Samples {
			out.Samples[i] = v * f
		}
	}
	return out
}

// Sampler draws from a Dist with its own seeded source; safe for concurrent use.
type Sampler struct {
	mu sync.Mutex
	r  *rand.Rand
	d  Dist
}

// NewSampler returns a Sampler of d seeded with seed.
func NewSampler(d Dist, seed int64) *Sampler {
	return &Sampler{r: rand.New(rand.NewSource(seed)), d: d}
}

// Sample draws one value.
func (s *Sampler) Sample() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.d.Sample(s.r)
}

// Dist returns the sampled distribution.
func (s *Sampler) Dist() Dist { return s.d }

func positive(name string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s must be greater than 0", name)
	}
	return nil
}

func nonNegative(name string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s must be 0 or more", name)
	}
	return nil
}
