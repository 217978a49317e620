package model

import (
	"math"
	"paydrill/harness/result"
)

// hist is a histogram of non-negative values (model milliseconds) in
// logarithmic buckets 0.1% wide, so a quantile read from it is within
// 0.1% of the exact one whatever the run's length: its memory is fixed,
// not one entry an order. Values under histMin share bucket 0.
type hist struct {
	counts []uint64
	n      uint64
	max    float64
}

const (
	histMin   = 1e-3 // ms: 1 µs
	histRatio = 1.001
	histSpan  = 1e9 // ms: past 11 days, the last bucket
)

var histBuckets = int(math.Ceil(math.Log(histSpan/histMin)/math.Log(histRatio))) + 2

func newHist() *hist { return &hist{counts: make([]uint64, histBuckets)} }

func (h *hist) add(v float64) {
	b := 0
	if v >= histMin {
		b = min(1+int(math.Log(v/histMin)/math.Log(histRatio)), len(h.counts)-1)
	}
	h.counts[b]++
	h.n++
	h.max = max(h.max, v)
}

// quantile is the nearest-rank quantile q (as the checker reads one), the
// middle of its bucket.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(max(math.Ceil(q*float64(h.n)), 1))
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			if b == 0 {
				return 0
			}
			lo := histMin * math.Pow(histRatio, float64(b-1))
			return min(lo*math.Sqrt(histRatio), h.max)
		}
	}
	return h.max
}

func (h *hist) percentiles() result.Percentiles {
	if h.n == 0 {
		return result.Percentiles{}
	}
	return result.Percentiles{P50: h.quantile(0.50), P95: h.quantile(0.95), P99: h.quantile(0.99), Max: h.max}
}

// batchMeans keeps the mean of a stream in between 20 and 40 batches of
// equal count (two neighbours merge when 40 fill up), for the confidence
// interval of the mean by batch means in fixed memory.
type batchMeans struct {
	size  int       // values a batch
	sums  []float64 // full batches
	cur   float64
	curN  int
	n     int
	total float64
}

func newBatchMeans() *batchMeans { return &batchMeans{size: 1} }

func (b *batchMeans) add(v float64) {
	b.n++
	b.total += v
	b.cur += v
	b.curN++
	if b.curN < b.size {
		return
	}
	b.sums = append(b.sums, b.cur)
	b.cur, b.curN = 0, 0
	if len(b.sums) == 40 {
		for i := range 20 {
			b.sums[i] = b.sums[2*i] + b.sums[2*i+1]
		}
		b.sums = b.sums[:20]
		b.size *= 2
	}
}

func (b *batchMeans) mean() float64 {
	if b.n == 0 {
		return 0
	}
	return b.total / float64(b.n)
}

// ci95 is the half-width of the mean's 95% confidence interval by batch
// means (Student's t with one less degree of freedom than batches); 0
// with fewer than 20 values a batch, as the checker has it.
func (b *batchMeans) ci95() float64 {
	k := len(b.sums)
	if k < 20 || b.size < 20 {
		return 0
	}
	var all float64
	for _, s := range b.sums {
		all += s / float64(b.size)
	}
	all /= float64(k)
	var ss float64
	for _, s := range b.sums {
		d := s/float64(b.size) - all
		ss += d * d
	}
	return tQuantile975(k-1) * math.Sqrt(ss/float64(k-1)/float64(k))
}

// tQuantile975 is Student's t 97.5% quantile for nu degrees of freedom,
// by its Cornish–Fisher expansion about the normal's (within 0.001 from
// nu = 10; 2.093 at 19, as the checker's table).
func tQuantile975(nu int) float64 {
	const z = 1.959963984540054
	v := float64(nu)
	z3, z5, z7 := z*z*z, z*z*z*z*z, z*z*z*z*z*z*z
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v) + (3*z7+19*z5+17*z3-15*z)/(384*v*v*v)
}

// rtoTracker measures each fault's RTO as the checker does (model seconds
// from the fault's start to the first window of rtoWindow whose orders
// production answered at least 99% of), on the stream of orders as they
// are sent and answered. It keeps only the orders from the earliest
// fault not yet recovered on, up to a window's worth past it: memory
// bounded by the rate times the window and the longest answer, not by
// the run.
type rtoTracker struct {
	window float64
	faults []rtoFault
	xs     []rtoSample // orders sent from index base on
	base   int
	sent   int  // orders sent so far
	done   bool // the load ended and every order is answered
	open   int  // the first order not yet answered
}

type rtoFault struct {
	start, end float64
	loadEnd    float64
	cursor     int // the window's first order; -1 until the fault starts
	hi, good   int // the window's end (exclusive) and its good orders
	decided    bool
	rto        *float64
}

type rtoSample struct {
	t        float64
	ok, done bool
}

func newRTOTracker(window float64, starts, ends []float64, loadEnd float64) *rtoTracker {
	tr := &rtoTracker{window: window}
	for i := range starts {
		tr.faults = append(tr.faults, rtoFault{start: starts[i], end: ends[i], loadEnd: loadEnd, cursor: -1})
	}
	return tr
}

// active says whether some fault has started and is not decided yet:
// only then are the orders kept.
func (tr *rtoTracker) active() bool {
	for _, f := range tr.faults {
		if !f.decided && f.cursor >= 0 {
			return true
		}
	}
	return false
}

// send notes the next order, sent at t (orders come in the order they are
// sent), and returns its index for answer.
func (tr *rtoTracker) send(t float64) int {
	k := tr.sent
	tr.sent++
	for fi := range tr.faults {
		if f := &tr.faults[fi]; !f.decided && f.cursor < 0 && t >= f.start {
			f.cursor, f.hi, f.good = k, k, 0
		}
	}
	if !tr.active() {
		tr.xs, tr.base, tr.open = tr.xs[:0], tr.sent, tr.sent
		return k
	}
	if len(tr.xs) == 0 {
		tr.base, tr.open = k, k
	}
	tr.xs = append(tr.xs, rtoSample{t: t})
	tr.advance()
	return k
}

// answer notes that order k was answered, by production without a 5xx
// (ok) or not.
func (tr *rtoTracker) answer(k int, ok bool) {
	i := k - tr.base
	if i < 0 || i >= len(tr.xs) {
		return
	}
	tr.xs[i].ok, tr.xs[i].done = ok, true
	tr.advance()
}

// end says the load has ended and every order is answered.
func (tr *rtoTracker) end() {
	tr.done = true
	for i := range tr.xs {
		tr.xs[i].done = true
	}
	tr.advance()
	for fi := range tr.faults {
		tr.faults[fi].decided = true
	}
}

func (tr *rtoTracker) advance() {
	end := tr.base + len(tr.xs)
	for tr.open < end && tr.xs[tr.open-tr.base].done {
		tr.open++
	}
	keep := end
	for fi := range tr.faults {
		f := &tr.faults[fi]
		for !f.decided && f.cursor >= 0 {
			if f.cursor >= end {
				break // the next order sent is the window's first
			}
			x := tr.xs[f.cursor-tr.base]
			if x.t+tr.window > f.loadEnd {
				f.decided = true // no window after this fits in the load
				break
			}
			until := x.t + tr.window
			for f.hi < end && tr.xs[f.hi-tr.base].t <= until && f.hi < tr.open {
				if tr.xs[f.hi-tr.base].ok {
					f.good++
				}
				f.hi++
			}
			// The window is known once an order past it is sent and all
			// in it are answered, or the load has ended.
			complete := f.hi < end && tr.xs[f.hi-tr.base].t > until
			if !complete && !(tr.done && f.hi == end) {
				break
			}
			if n := f.hi - f.cursor; n > 0 && float64(f.good) >= 0.99*float64(n) {
				rto := math.Max(0, x.t-f.start)
				f.rto, f.decided = &rto, true
				break
			}
			if x.ok {
				f.good--
			}
			f.cursor++
		}
		if !f.decided && f.cursor >= 0 {
			keep = min(keep, f.cursor)
		}
	}
	// Drop what no fault needs any more, in halves (amortised O(1)).
	if drop := keep - tr.base; drop > 0 && 2*drop >= len(tr.xs) {
		tr.xs = append(tr.xs[:0], tr.xs[drop:]...)
		tr.base = keep
	}
}
