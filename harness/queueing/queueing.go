// Package queueing holds the closed forms paydrill's router and dyno pool
// are checked against: the mean time an order waits for a worker (the
// queue time, not counting its own service) in steady state.
//
// Notation: λ is the arrival rate at one queue, S the service time with
// mean E[S] = 1/μ and second moment E[S²], ρ = λ·E[S] the utilisation of
// one worker (λ·E[S]/c with c workers). Every formula needs ρ < 1 and
// returns +Inf otherwise.
//
// How the simulated system maps onto them, with Poisson arrivals
// (load.arrivals: poisson) at total rate Λ and n dynos:
//
//   - random routing to n single-worker dynos: each dyno sees a thinned
//     Poisson stream of rate λ = Λ/n, so n independent M/G/1 queues
//     (PollaczekKhinchine), M/M/1 with exponential service (MM1).
//   - round-robin to n single-worker dynos: each dyno gets every n-th
//     arrival, so its gaps are Erlang-n, an E_n/M/1 queue with
//     exponential service (ErlangArrivals).
//   - one dyno with c workers: its FIFO backlog is one central queue in
//     front of c servers, an M/M/c queue with exponential service (MMc).
//
// Least-connections and power-of-two-choices routing have no closed form
// this simple; paydrill measures them instead.
package queueing

import "math"

// MM1 is the mean queue time of an M/M/1 queue with arrival rate lambda
// and mean service time meanS:
//
//	W = E[S]·ρ/(1−ρ),  ρ = λ·E[S]
func MM1(lambda, meanS float64) float64 {
	rho := lambda * meanS
	if rho >= 1 {
		return math.Inf(1)
	}
	return meanS * rho / (1 - rho)
}

// PollaczekKhinchine is the mean queue time of an M/G/1 queue with
// arrival rate lambda and a service time of mean meanS and second moment
// secondS (E[S²]):
//
//	W = λ·E[S²] / (2(1−ρ)),  ρ = λ·E[S]
//
// With exponential service (E[S²] = 2E[S]²) it is MM1; with constant
// service (M/D/1) half of it.
func PollaczekKhinchine(lambda, meanS, secondS float64) float64 {
	rho := lambda * meanS
	if rho >= 1 {
		return math.Inf(1)
	}
	return lambda * secondS / (2 * (1 - rho))
}

// ErlangC is the probability that an arrival at an M/M/c queue waits:
// Erlang's C formula with c servers and offered load a = λ/μ (in Erlangs,
// a < c):
//
//	          aᶜ/c! · c/(c−a)
//	C(c, a) = ─────────────────────────────
//	          Σₖ₌₀^{c−1} aᵏ/k! + aᶜ/c! · c/(c−a)
func ErlangC(c int, a float64) float64 {
	if a >= float64(c) {
		return 1
	}
	term, sum := 1.0, 0.0 // term = aᵏ/k!
	for k := 0; k < c; k++ {
		sum += term
		term *= a / float64(k+1)
	}
	last := term * float64(c) / (float64(c) - a)
	return last / (sum + last)
}

// MMc is the mean queue time of an M/M/c queue (one FIFO queue, c
// servers) with arrival rate lambda and mean service time meanS:
//
//	W = C(c, a) / (c·μ − λ),  a = λ·E[S], μ = 1/E[S]
func MMc(c int, lambda, meanS float64) float64 {
	a := lambda * meanS
	if a >= float64(c) {
		return math.Inf(1)
	}
	return ErlangC(c, a) / (float64(c)/meanS - lambda)
}

// GIM1 is the mean queue time of a GI/M/1 queue (general independent
// gaps between arrivals, exponential service with mean meanS) whose gap
// has the Laplace–Stieltjes transform lst (A*(s) = E[e^{−sA}]) and mean
// meanGap. An arrival finds k or more orders in the system with
// probability σᵏ, where σ is the root in (0, 1) of
//
//	σ = A*(μ(1−σ)),  μ = 1/E[S]
//
// and waits, when it waits, an exponential time of rate μ(1−σ), so
//
//	W = σ / (μ(1−σ))
//
// With Poisson arrivals (A*(s) = λ/(λ+s)) σ = ρ and W is MM1.
func GIM1(lst func(s float64) float64, meanGap, meanS float64) float64 {
	if meanS >= meanGap {
		return math.Inf(1)
	}
	mu := 1 / meanS
	// f(σ) = A*(μ(1−σ)) − σ is positive at 0, negative just below 1 when
	// ρ < 1, and convex: bisection finds the one root in between.
	lo, hi := 0.0, 1.0-1e-9
	for range 200 {
		mid := (lo + hi) / 2
		if lst(mu*(1-mid))-mid > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	sigma := (lo + hi) / 2
	return sigma / (mu * (1 - sigma))
}

// ErlangArrivals is the mean queue time at one of n single-worker dynos
// fed in turn (round-robin) from a Poisson stream of total rate
// totalRate, with exponential service of mean meanS: an E_n/M/1 queue.
// Every n-th arrival of the stream reaches the dyno, so its gaps are
// Erlang-n with rate totalRate (mean n/totalRate) and
//
//	A*(s) = (Λ/(Λ+s))ⁿ,  Λ = totalRate
//
// in GIM1. With n = 1 it is MM1; as n grows the arrivals become regular
// (D/M/1) and the wait shrinks.
func ErlangArrivals(n int, totalRate, meanS float64) float64 {
	lst := func(s float64) float64 { return math.Pow(totalRate/(totalRate+s), float64(n)) }
	return GIM1(lst, float64(n)/totalRate, meanS)
}
