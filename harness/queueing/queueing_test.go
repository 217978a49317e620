package queueing

import (
	"math"
	"math/rand"
	"slices"
	"testing"
	"time"
)

func near(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (within %.1f%%)", what, got, want, 100*rel)
	}
}

func TestClosedForms(t *testing.T) {
	for _, tc := range []struct {
		what      string
		got, want float64
	}{
		// M/M/1 at ρ = 0.5 waits one mean service time.
		{"MM1(0.5, 1)", MM1(0.5, 1), 1},
		{"MM1(8, 0.1)", MM1(8, 0.1), 0.4},
		// Pollaczek–Khinchine: exponential service is M/M/1, constant is half.
		{"PK exponential", PollaczekKhinchine(6, 0.1, 2*0.01), MM1(6, 0.1)},
		{"PK constant (M/D/1)", PollaczekKhinchine(6, 0.1, 0.01), MM1(6, 0.1) / 2},
		// Erlang C: one server waits with probability ρ; C(2, 1) = 1/3.
		{"ErlangC(1, 0.7)", ErlangC(1, 0.7), 0.7},
		{"ErlangC(2, 1)", ErlangC(2, 1), 1.0 / 3},
		// C(4, 2.8) by hand: Σ = 1 + 2.8 + 3.92 + 3.6587 = 11.3787,
		// a⁴/4!·4/1.2 = 2.56107·3.33333 = 8.53689.
		{"ErlangC(4, 2.8)", ErlangC(4, 2.8), 8.53689 / (11.37867 + 8.53689)},
		{"MMc with one server", MMc(1, 7, 0.1), MM1(7, 0.1)},
		{"MMc(4, 11.2, 0.25)", MMc(4, 11.2, 0.25), ErlangC(4, 2.8) / (16 - 11.2)},
		// GI/M/1 with Poisson arrivals is M/M/1; E_1 arrivals too.
		{"GIM1 Poisson", GIM1(func(s float64) float64 { return 6 / (6 + s) }, 1.0/6, 0.1), MM1(6, 0.1)},
		{"ErlangArrivals(1)", ErlangArrivals(1, 6, 0.1), MM1(6, 0.1)},
	} {
		near(t, tc.what, tc.got, tc.want, 1e-4)
	}
	for _, inf := range []float64{MM1(10, 0.1), PollaczekKhinchine(20, 0.1, 1), MMc(2, 20, 0.1), ErlangArrivals(3, 30, 0.1)} {
		if !math.IsInf(inf, 1) {
			t.Errorf("a queue at ρ ≥ 1 waits %v, want +Inf", inf)
		}
	}
}

func TestErlangArrivalsTendsToDM1(t *testing.T) {
	// D/M/1 at ρ = 0.7: σ = exp(−(1−σ)/ρ) ≈ 0.4015.
	sigma := 0.5
	for range 500 {
		sigma = math.Exp(-(1 - sigma) / 0.7)
	}
	dm1 := sigma / (10 * (1 - sigma)) // μ = 10
	near(t, "ErlangArrivals(400) vs D/M/1", ErlangArrivals(400, 400*7, 0.1), dm1, 0.01)
	if w2, w4 := ErlangArrivals(2, 14, 0.1), ErlangArrivals(4, 28, 0.1); !(w4 < w2 && w2 < MM1(7, 0.1)) {
		t.Errorf("waits E2 %v, E4 %v, M %v: want more regular arrivals to wait less", w2, w4, MM1(7, 0.1))
	}
}

// simulate is a FIFO queue with c servers (Lindley's recursion over the
// earliest free server): the mean wait of n arrivals after a warm-up.
func simulate(r *rand.Rand, n, c int, gap, service func() float64) float64 {
	free := make([]float64, c)
	t, sum := 0.0, 0.0
	warm := n / 10
	for i := range n + warm {
		t += gap()
		k := 0
		for j := range free {
			if free[j] < free[k] {
				k = j
			}
		}
		start := max(t, free[k])
		free[k] = start + service()
		if i >= warm {
			sum += start - t
		}
	}
	return sum / float64(n)
}

// The formulas against a direct simulation of the queue they describe.
func TestFormulasMatchSimulation(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	exp := func(mean float64) func() float64 { return func() float64 { return mean * r.ExpFloat64() } }
	const n = 2_000_000
	// M/M/1, ρ = 0.6.
	near(t, "M/M/1", simulate(r, n, 1, exp(1.0/6), exp(0.1)), MM1(6, 0.1), 0.03)
	// M/G/1, uniform service on [0, 0.2]: E[S²] = 0.04/3.
	uniform := func() float64 { return 0.2 * r.Float64() }
	near(t, "M/G/1", simulate(r, n, 1, exp(1.0/6), uniform), PollaczekKhinchine(6, 0.1, 0.04/3), 0.03)
	// E_4/M/1: every 4th arrival of a Poisson stream of 28/s, ρ = 0.7.
	erlang4 := func() float64 { return exp(1.0/28)() + exp(1.0/28)() + exp(1.0/28)() + exp(1.0/28)() }
	near(t, "E4/M/1", simulate(r, n, 1, erlang4, exp(0.1)), ErlangArrivals(4, 28, 0.1), 0.03)
	// M/M/4, ρ = 0.7.
	near(t, "M/M/4", simulate(r, n, 4, exp(1.0/28), exp(0.1)), MMc(4, 28, 0.1), 0.03)
}

// TestLindleyWaitsForTheFirstFreeWorker: four jobs a second apart, each
// 3 s long, on two workers: the third waits for the first worker (free at
// 3 s, arrived at 2 s), the fourth for the second (free at 4 s, arrived
// at 3 s).
func TestLindleyWaitsForTheFirstFreeWorker(t *testing.T) {
	t0 := time.Unix(0, 0)
	waits := Lindley(4, 2, func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) },
		func(int) time.Duration { return 3 * time.Second })
	want := []time.Duration{0, 0, time.Second, time.Second}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
}
