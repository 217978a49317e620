package load

import (
	"paydrill/sim/dist"
	"time"
)

// Plan is the order traffic in wall time.
type Plan struct {
	Stages    []Stage // piecewise linear; a constant rate is one stage with From == To
	Timeout   time.Duration
	Customers int
	Amount    dist.Dist // cents
	Seed      int64
	// Arrivals is ArrivalsConstant (the default, also when empty) or
	// ArrivalsPoisson.
	Arrivals string
}

// Stage ramps the rate linearly from From to To (orders per wall second)
// over Duration.
type Stage struct {
	Duration time.Duration
	From, To float64
}

// AskedRate is the mean asked rate over the stages, orders per wall second.
func (l Plan) AskedRate() float64 {
	var hits, d float64
	for _, s := range l.Stages {
		hits += (s.From + s.To) / 2 * s.Duration.Seconds()
		d += s.Duration.Seconds()
	}
	if d == 0 {
		return 0
	}
	return hits / d
}

// Total is the wall time of every stage.
func (l Plan) Total() time.Duration {
	var d time.Duration
	for _, s := range l.Stages {
		d += s.Duration
	}
	return d
}
