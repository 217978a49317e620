package load

import (
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// StagesPacer paces hits along piecewise-linear stages: within a stage of
// length D going from rate a to rate b, the hits sent by t are
//
//	H(t) = a·t + (b−a)·t²/(2D)
//
// Pace waits until H reaches hits+1 and stops once H(end) hits are sent, so
// the number of orders depends on the plan alone, never on timing: a hit due
// exactly at the end is still sent, and one sent late is not skipped.
type StagesPacer []Stage

var _ vegeta.Pacer = StagesPacer{}

// hits is H(t): the hits due by elapsed t.
func (p StagesPacer) hits(t time.Duration) float64 {
	var h float64
	for _, s := range p {
		d := s.Duration.Seconds()
		x := t.Seconds()
		if x <= 0 {
			break
		}
		if x > d {
			x = d
		}
		h += s.From*x + (s.To-s.From)*x*x/(2*d)
		t -= s.Duration
	}
	return h
}

func (p StagesPacer) total() time.Duration {
	return Plan{Stages: p}.Total()
}

// Pace returns how long to wait before the next hit.
func (p StagesPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	want := float64(hits + 1)
	total := p.total()
	if p.hits(total)+p.slack() < want {
		return 0, true
	}
	if p.hits(elapsed) >= want {
		return 0, false // behind: hit now
	}
	lo, hi := elapsed, max(elapsed, total)
	for hi-lo > 50*time.Microsecond {
		mid := lo + (hi-lo)/2
		if p.hits(mid) >= want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi - elapsed, false
}

// slack is how far H(end) may fall short of the model's count: stages are
// the model's divided by the speed and rounded to the nanosecond, so each
// may lose up to its rate × 1 ns of a hit (10 orders a second for 20 s at
// speed 30 plans 199.9999998 hits, and must send 200 as at speed 25).
func (p StagesPacer) slack() float64 {
	s := 1e-9
	for _, st := range p {
		s += max(st.From, st.To) * 2e-9
	}
	return s
}

// Rate is the instantaneous rate at elapsed, hits per second.
func (p StagesPacer) Rate(elapsed time.Duration) float64 {
	for _, s := range p {
		if elapsed < s.Duration {
			return s.From + (s.To-s.From)*elapsed.Seconds()/s.Duration.Seconds()
		}
		elapsed -= s.Duration
	}
	return 0
}
