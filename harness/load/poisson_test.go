package load

import (
	"math"
	"sort"
	"testing"
	"time"
)

// arrivals returns every hit time the pacer makes, asking it as vegeta
// does at elapsed 0 (so each wait is the hit's due time).
func arrivals(t *testing.T, p *PoissonPacer, limit int) []float64 {
	t.Helper()
	var out []float64
	for k := uint64(0); ; k++ {
		wait, stop := p.Pace(0, k)
		if stop {
			return out
		}
		if len(out) == limit {
			t.Fatalf("more than %d hits", limit)
		}
		out = append(out, wait.Seconds())
	}
}

func TestPoissonPacerGapsAreExponential(t *testing.T) {
	const rate, secs = 200.0, 100.0
	p := NewPoissonPacer([]Stage{{Duration: secs * time.Second, From: rate, To: rate}}, 42)
	ts := arrivals(t, p, 40000)
	// About rate·secs hits: Poisson(20000) has a standard deviation of 141.
	if n := float64(len(ts)); math.Abs(n-rate*secs) > 5*math.Sqrt(rate*secs) {
		t.Fatalf("%v hits in %vs at %v/s, want about %v", n, secs, rate, rate*secs)
	}
	gaps := make([]float64, len(ts))
	prev := 0.0
	for i, x := range ts {
		gaps[i], prev = x-prev, x
	}
	// Kolmogorov–Smirnov distance to Exp(rate): a constant pacer is at
	// distance 1 − 1/e ≈ 0.63; 1.63/√n is the 1% critical value.
	sort.Float64s(gaps)
	var ks float64
	for i, g := range gaps {
		f := 1 - math.Exp(-rate*g)
		ks = max(ks, math.Abs(f-float64(i)/float64(len(gaps))), math.Abs(f-float64(i+1)/float64(len(gaps))))
	}
	if crit := 1.63 / math.Sqrt(float64(len(gaps))); ks > crit {
		t.Fatalf("KS distance of the gaps to Exp(%v) = %.4f, want < %.4f", rate, ks, crit)
	}
	// Counts in one-second windows: Poisson, so variance ≈ mean.
	counts := make([]float64, int(secs))
	for _, x := range ts {
		counts[min(int(x), len(counts)-1)]++
	}
	var m, v float64
	for _, c := range counts {
		m += c
	}
	m /= secs
	for _, c := range counts {
		v += (c - m) * (c - m)
	}
	v /= secs - 1
	if d := v / m; d < 0.7 || d > 1.3 {
		t.Fatalf("counts per second: mean %.1f, variance %.1f (dispersion %.2f), want dispersion ≈ 1", m, v, d)
	}
}

func TestPoissonPacerFollowsARamp(t *testing.T) {
	// 0 → 100/s over 20 s, then 100/s for 10 s: H(20s) = 1000, H(30s) = 2000.
	stages := []Stage{{Duration: 20 * time.Second, From: 0, To: 100}, {Duration: 10 * time.Second, From: 100, To: 100}}
	var first, all float64
	const runs = 20
	for seed := int64(1); seed <= runs; seed++ {
		for _, x := range arrivals(t, NewPoissonPacer(stages, seed), 4000) {
			all++
			if x < 20 {
				first++
			}
		}
	}
	// Means over 20 runs: standard deviations √(1000/20) ≈ 7 and 10.
	if m := first / runs; math.Abs(m-1000) > 35 {
		t.Fatalf("hits in the ramp: mean %.0f, want about 1000", m)
	}
	if m := all / runs; math.Abs(m-2000) > 50 {
		t.Fatalf("hits in all: mean %.0f, want about 2000", m)
	}
}

func TestPoissonPacerIsPure(t *testing.T) {
	stages := []Stage{{Duration: 10 * time.Second, From: 50, To: 50}}
	a, b := NewPoissonPacer(stages, 7), NewPoissonPacer(stages, 7)
	// Asked out of order, then in order: the same answers.
	w5, _ := a.Pace(0, 5)
	w300, _ := a.Pace(0, 300)
	w5again, _ := a.Pace(0, 5)
	if w5 != w5again {
		t.Fatalf("Pace(0, 5) = %v, then %v after a later hit", w5, w5again)
	}
	for k := uint64(0); k <= 300; k++ {
		wb, _ := b.Pace(0, k)
		wa, _ := a.Pace(0, k)
		if wa != wb {
			t.Fatalf("hit %d: %v and %v from the same seed", k, wa, wb)
		}
	}
	if wb, _ := b.Pace(0, 300); wb != w300 {
		t.Fatalf("hit 300: %v and %v from the same seed", w300, wb)
	}
	if wc, _ := NewPoissonPacer(stages, 8).Pace(0, 300); wc == w300 {
		t.Fatal("seeds 7 and 8 gave the same hit time")
	}
	// Behind schedule: hit now, even past the end, so the number of hits
	// depends on the seed alone; a hit beyond the stages stops the attack.
	if w, stop := a.Pace(9*time.Second, 5); w != 0 || stop {
		t.Fatalf("Pace behind schedule = %v, %v; want 0, false", w, stop)
	}
	if w, stop := a.Pace(10*time.Second, 1); w != 0 || stop {
		t.Fatalf("Pace late for a planned hit = %v, %v; want 0, false", w, stop)
	}
	if _, stop := a.Pace(0, 1_000_000); !stop {
		t.Fatal("Pace beyond the last stage's hits did not stop")
	}
	if got := a.Rate(time.Second); got != 50 {
		t.Fatalf("Rate = %v, want 50", got)
	}
}

func TestStagesPacerAtInvertsHits(t *testing.T) {
	p := StagesPacer{
		{Duration: 10 * time.Second, From: 0, To: 10},   // ramp up: 50 hits
		{Duration: 5 * time.Second, From: 10, To: 10},   // hold: 50 hits
		{Duration: 10 * time.Second, From: 10, To: 0},   // ramp down: 50 hits
		{Duration: 5 * time.Second, From: 0, To: 0},     // nothing
		{Duration: 4 * time.Second, From: 2.5, To: 2.5}, // 10 hits
	}
	for _, h := range []float64{0.5, 1, 12.5, 50, 75, 100, 120, 149.9, 150.5, 160} {
		at, ok := p.at(h)
		if !ok {
			t.Fatalf("at(%v): not reached", h)
		}
		if got := p.hits(at); math.Abs(got-h) > 1e-6 {
			t.Fatalf("hits(at(%v) = %v) = %v", h, at, got)
		}
	}
	if _, ok := p.at(160.01); ok {
		t.Fatal("at past the last hit reported a time")
	}
}
