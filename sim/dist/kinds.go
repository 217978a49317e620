package dist

import (
	"fmt"
	"math"
	"math/rand"
)

// Const always gives Value.
type Const struct{ Value float64 }

var _ Dist = Const{}

func (c Const) Sample(*rand.Rand) float64 { return c.Value }
func (c Const) Mean() float64             { return c.Value }
func (c Const) SecondMoment() float64     { return c.Value * c.Value }

// Uniform is uniform on [Min, Max].
type Uniform struct{ Min, Max float64 }

var _ Dist = Uniform{}

func (u Uniform) Sample(r *rand.Rand) float64 { return u.Min + r.Float64()*(u.Max-u.Min) }
func (u Uniform) Mean() float64               { return (u.Min + u.Max) / 2 }
func (u Uniform) SecondMoment() float64 {
	return (u.Min*u.Min + u.Min*u.Max + u.Max*u.Max) / 3
}

// Exponential has mean MeanValue: E[X²] = 2·mean².
type Exponential struct{ MeanValue float64 }

var _ Dist = Exponential{}

func (e Exponential) Sample(r *rand.Rand) float64 { return r.ExpFloat64() * e.MeanValue }
func (e Exponential) Mean() float64               { return e.MeanValue }
func (e Exponential) SecondMoment() float64       { return 2 * e.MeanValue * e.MeanValue }

// z99 is the standard normal's 99th percentile.
const z99 = 2.3263478740408408

// Lognormal is given by its median and 99th percentile:
//
//	μ = ln(median), σ = (ln(p99) − μ) / z₀.₉₉, X = exp(μ + σZ)
//	E[X] = exp(μ + σ²/2), E[X²] = exp(2μ + 2σ²)
type Lognormal struct{ Mu, Sigma float64 }

var _ Dist = Lognormal{}

// NewLognormal returns the lognormal with the given median and p99.
func NewLognormal(median, p99 float64) Lognormal {
	mu := math.Log(median)
	return Lognormal{Mu: mu, Sigma: (math.Log(p99) - mu) / z99}
}

func (l Lognormal) Sample(r *rand.Rand) float64 {
	return math.Exp(l.Mu + l.Sigma*r.NormFloat64())
}
func (l Lognormal) Mean() float64 { return math.Exp(l.Mu + l.Sigma*l.Sigma/2) }
func (l Lognormal) SecondMoment() float64 {
	return math.Exp(2*l.Mu + 2*l.Sigma*l.Sigma)
}

// Weibull with shape k and scale λ: X = λ(−ln U)^(1/k);
// E[X] = λΓ(1+1/k), E[X²] = λ²Γ(1+2/k). Shape below 1 is heavy-tailed.
type Weibull struct{ Shape, Scale float64 }

var _ Dist = Weibull{}

func (w Weibull) Sample(r *rand.Rand) float64 {
	u := 1 - r.Float64() // (0, 1]
	return w.Scale * math.Pow(-math.Log(u), 1/w.Shape)
}
func (w Weibull) Mean() float64 { return w.Scale * math.Gamma(1+1/w.Shape) }
func (w Weibull) SecondMoment() float64 {
	return w.Scale * w.Scale * math.Gamma(1+2/w.Shape)
}

// Empirical draws uniformly from recorded samples.
type Empirical struct{ Samples []float64 }

var _ Dist = Empirical{}

func (e Empirical) Sample(r *rand.Rand) float64 { return e.Samples[r.Intn(len(e.Samples))] }
func (e Empirical) Mean() float64 {
	var s float64
	for _, v := range e.Samples {
		s += v
	}
	return s / float64(len(e.Samples))
}
func (e Empirical) SecondMoment() float64 {
	var s float64
	for _, v := range e.Samples {
		s += v * v
	}
	return s / float64(len(e.Samples))
}

func init() {
	register("const", func(s Spec) (Dist, error) {
		return Const{s.Value}, nonNegative("value", s.Value)
	})
	register("uniform", func(s Spec) (Dist, error) {
		if err := nonNegative("min", s.Min); err != nil {
			return nil, err
		}
		if !(s.Max >= s.Min) {
			return nil, fmt.Errorf("max must be at least min")
		}
		return Uniform{s.Min, s.Max}, nil
	})
	register("exponential", func(s Spec) (Dist, error) {
		return Exponential{s.Mean}, positive("mean", s.Mean)
	})
	register("lognormal", func(s Spec) (Dist, error) {
		if err := positive("median", s.Median); err != nil {
			return nil, err
		}
		if !(s.P99 > s.Median) {
			return nil, fmt.Errorf("p99 must be greater than median")
		}
		return NewLognormal(s.Median, s.P99), nil
	})
	register("weibull", func(s Spec) (Dist, error) {
		if err := positive("shape", s.Shape); err != nil {
			return nil, err
		}
		return Weibull{s.Shape, s.Scale}, positive("scale", s.Scale)
	})
	register("empirical", func(s Spec) (Dist, error) {
		if len(s.Samples) == 0 {
			return nil, fmt.Errorf("empirical needs at least one sample")
		}
		for i, v := range s.Samples {
			if err := nonNegative(fmt.Sprintf("sample %d", i+1), v); err != nil {
				return nil, err
			}
		}
		return Empirical{s.Samples}, nil
	})
}
