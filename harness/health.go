package harness

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/queueing"
	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// Thresholds beyond which the harness says it could not keep up. The
// queue ones were set from runs of random-vs-least-conn (the reference:
// heavy-tailed service at 50% utilisation, where queue time is the figure
// that matters) at speeds 1 to 40 on a 2-core machine, embedded. Its mean
// queue time against speed 1's, and the share of it the machine added
// (QueueDistortion), were: speed 5 +3% (1%), 10 +6% (4%), 12 +10% (6%),
// 15 +18% (11%), 20 +37% (24%), 40 twelve times (266%). The docker
// runtime reaches the same distortion at half the speed.
const (
	// minKeptUp bounds the load's pace: the time the pacer planned
	// between the first and the last order sent, over the time it took.
	minKeptUp = 0.95
	// maxTimerLagModel bounds the lateness of timers (a 10 ms ticker's
	// p99, and each fault's start) times speed.
	maxTimerLagModel = 500 * time.Millisecond
	// maxQueueDistortion bounds the share of the mean queue time the
	// machine added (HarnessHealth.QueueDistortion)...
	maxQueueDistortion = 0.10
	// ...when that is also more than this share of the mean modelled busy
	// time: a queue of a millisecond may double without changing any
	// figure that matters.
	minQueueDistortionOfBusy = 0.05
)

// lagMeter measures how late a 10 ms ticker fires: the scheduler lateness
// every timer of the run suffers.
type lagMeter struct {
	mu   sync.Mutex
	lags []time.Duration
}

func (l *lagMeter) run(ctx context.Context) {
	const every = 10 * time.Millisecond
	next := time.Now().Add(every)
	for {
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			l.mu.Lock()
			none := len(l.lags) == 0
			l.mu.Unlock()
			if none {
				// A load shorter than a tick (a run at an extreme speed)
				// gets one sample all the same: a run too short to time
				// is not taken for one on time.
				want := time.Now().Add(time.Millisecond)
				time.Sleep(time.Millisecond)
				l.mu.Lock()
				l.lags = append(l.lags, time.Since(want))
				l.mu.Unlock()
			}
			return
		case now := <-t.C:
			l.mu.Lock()
			l.lags = append(l.lags, now.Sub(next))
			l.mu.Unlock()
			next = now.Add(every)
		}
	}
}

// p99 is the 99th percentile lateness.
func (l *lagMeter) p99() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lags) == 0 {
		return 0
	}
	xs := append([]time.Duration(nil), l.lags...)
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs[(len(xs)*99)/100]
}

// health compares what was asked of the harness with what it did.
func health(p *Plan, traffic *load.Run, span time.Duration, lag *lagMeter, faults []fault.Window) result.HarnessHealth {
	h := result.HarnessHealth{AskedRate: p.Load.AskedRate() / p.Speed}
	n := traffic.Answers()
	if n > 1 && span > 0 {
		// n hits span n-1 intervals.
		h.AchievedRate = float64(n-1) / span.Seconds() / p.Speed
	}
	worst := lag.p99()
	for _, f := range faults {
		worst = max(worst, f.Lateness)
	}
	h.TimerLagMS = float64(worst) * p.Speed / float64(time.Millisecond)
	if kept := keptUp(p.Load, n, span); kept < minKeptUp {
		h.Saturated = true
		h.Notes = append(h.Notes, fmt.Sprintf("the load kept %.0f%% of its pace: achieved %.2f orders/s of the %.2f asked (model time)",
			100*kept, h.AchievedRate, h.AskedRate))
	}
	if time.Duration(float64(worst)*p.Speed) > maxTimerLagModel {
		h.Saturated = true
		h.Notes = append(h.Notes, fmt.Sprintf("timers ran up to %.0f ms late in model time", h.TimerLagMS))
	}
	if h.Notes == nil {
		h.Notes = []string{}
	}
	return h
}

// keptUp is how well the load kept to its pace: the wall time the pacer
// planned between the first and the last of the n orders sent, over the
// time it took (1 when on time). Comparing with the plan rather than the
// mean rate keeps Poisson arrivals, whose count varies by chance, from
// looking slow.
func keptUp(l load.Plan, n int, span time.Duration) float64 {
	if n < 2 || span <= 0 {
		return 1
	}
	pacer := l.Pacer()
	first, _ := pacer.Pace(0, 0)
	last, _ := pacer.Pace(0, uint64(n-1))
	return min((last-first).Seconds()/span.Seconds(), 1)
}

// queueDistortion adds to h how much of the mean queue time the machine
// added. The model's own queue times are the dynos' records replayed
// through FIFO workers (by arrival, each taking the earliest free of its
// dyno's workers), each order held for its modelled busy time (sampled
// service + gateway wait) and arriving when the load planned to send it
// (planned; for an order the load did not send, a replay, its recorded
// arrival). The recorded queue times include everything the machine did
// to them: the real work's overrun past the busy time (db and gateway
// round trips slower than a compressed service time), and late timers and
// hops, which bunch up arrivals the model spaced out (round-robin's
// regular arrivals suffer most). Past maxQueueDistortion (and
// minQueueDistortionOfBusy) the run is saturated.
func queueDistortion(h *result.HarnessHealth, recs []wire.DynoRecord, workers int, speed float64, planned func(requestID string) (time.Time, bool)) {
	byDyno := map[string][]wire.DynoRecord{}
	// Planned times and recorded arrivals differ by the hops from the
	// load to the dyno; the median of that offset puts a replay's
	// recorded arrival on the planned clock.
	var offsets []time.Duration
	for _, r := range recs {
		if r.Outcome != "refused" {
			byDyno[r.Dyno] = append(byDyno[r.Dyno], r)
			if at, ok := plannedAt(r, planned); ok {
				offsets = append(offsets, r.Arrived.Sub(at))
			}
		}
	}
	var offset time.Duration
	if len(offsets) > 0 {
		slices.Sort(offsets)
		offset = offsets[len(offsets)/2]
	}
	arrival := func(r wire.DynoRecord) time.Time {
		if at, ok := plannedAt(r, planned); ok {
			return at
		}
		return r.Arrived.Add(-offset)
	}
	var recorded, modelled, busy time.Duration
	n := 0
	for _, rs := range byDyno {
		sort.Slice(rs, func(i, j int) bool { return arrival(rs[i]).Before(arrival(rs[j])) })
		for i, w := range queueing.Lindley(len(rs), workers, func(i int) time.Time { return arrival(rs[i]) },
			func(i int) time.Duration { return rs[i].Service + rs[i].Gateway }) {
			recorded += rs[i].Queued
			modelled += w
			busy += rs[i].Service + rs[i].Gateway
			n++
		}
	}
	if n == 0 || modelled <= 0 {
		return
	}
	extra := recorded - modelled
	h.QueueDistortion = float64(extra) / float64(modelled)
	if h.QueueDistortion > maxQueueDistortion && float64(extra) > minQueueDistortionOfBusy*float64(busy) {
		h.Saturated = true
		ms := func(d time.Duration) float64 { return float64(d) / float64(n) * speed / float64(time.Millisecond) }
		h.Notes = append(h.Notes, fmt.Sprintf("the machine added %.0f%% to the mean queue time (%.0f ms model of %.0f): "+
			"the dynos' real work ran past the compressed service times, or late timers bunched up the arrivals", 100*h.QueueDistortion, ms(extra), ms(recorded)))
	}
}

// plannedAt is when the load planned to send r's order, if it sent it.
func plannedAt(r wire.DynoRecord, planned func(string) (time.Time, bool)) (time.Time, bool) {
	if planned == nil || r.Replay {
		return time.Time{}, false
	}
	return planned(r.RequestID)
}

// plannedSends maps each order the load sent to the wall time its pacer
// planned for it, from the run's start.
func plannedSends(l load.Plan, outs []load.Outcome, began time.Time) func(string) (time.Time, bool) {
	pacer := l.Pacer()
	// By sequence: a Poisson pacer asked for hits in order draws each
	// arrival once.
	outs = slices.Clone(outs)
	slices.SortFunc(outs, func(a, b load.Outcome) int { return cmp.Compare(a.Seq, b.Seq) })
	at := make(map[string]time.Time, len(outs))
	for _, o := range outs {
		if o.RequestID == "" {
			continue
		}
		d, _ := pacer.Pace(0, o.Seq)
		at[o.RequestID] = began.Add(d)
	}
	return func(id string) (time.Time, bool) {
		t, ok := at[id]
		return t, ok
	}
}

// progress prints one line a second on w: model time elapsed of total,
// rate, success and failovers so far.
func progress(ctx context.Context, w io.Writer, p *Plan, traffic *load.Run, began time.Time) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	total := time.Duration(float64(p.Load.Total()) * p.Speed)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(w)
			return
		case <-tick.C:
		}
		el := time.Since(began)
		if el > p.Load.Total() {
			continue
		}
		seen, ok, fo := traffic.Answered()
		model := time.Duration(float64(el) * p.Speed).Truncate(time.Second)
		rate := float64(seen) / el.Seconds() / p.Speed
		succ := 0.0
		if seen > 0 {
			succ = 100 * float64(ok) / float64(seen)
		}
		fmt.Fprintf(w, "\r%s  %v / %v  %.1f orders/s  %d answered  %.1f%% ok  %d failovers   ",
			p.Name, model, total, rate, seen, succ, fo)
	}
}
