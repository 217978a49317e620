package harness

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/sim/wire"
)

func TestKeptUpComparesWithThePlannedPace(t *testing.T) {
	for _, tc := range []struct {
		name     string
		load     load.Plan
		n        int
		span     time.Duration
		saturate bool
	}{
		// 10/s for 10 s: 100 orders planned 9.9 s apart end to end.
		{"constant on time", load.Plan{Stages: []load.Stage{{Duration: 10 * time.Second, From: 10, To: 10}}}, 100, 9900 * time.Millisecond, false},
		{"constant 20% slow", load.Plan{Stages: []load.Stage{{Duration: 10 * time.Second, From: 10, To: 10}}}, 100, 12375 * time.Millisecond, true},
		// Poisson: whatever the count, on time is on time...
		{"poisson on time", load.Plan{Stages: []load.Stage{{Duration: 10 * time.Second, From: 10, To: 10}}, Arrivals: load.ArrivalsPoisson, Seed: 3}, 0, 0, false},
		// ...and slow is slow.
		{"poisson 20% slow", load.Plan{Stages: []load.Stage{{Duration: 10 * time.Second, From: 10, To: 10}}, Arrivals: load.ArrivalsPoisson, Seed: 3}, 0, -1, true},
	} {
		n, span := tc.n, tc.span
		if tc.load.Arrivals == load.ArrivalsPoisson {
			pacer := tc.load.Pacer()
			for {
				if _, stop := pacer.Pace(0, uint64(n)); stop {
					break
				}
				n++
			}
			first, _ := pacer.Pace(0, 0)
			last, _ := pacer.Pace(0, uint64(n-1))
			span = last - first
			if tc.span < 0 {
				span = span * 5 / 4
			}
		}
		kept := keptUp(tc.load, n, span)
		if (kept < minKeptUp) != tc.saturate {
			t.Errorf("%s: %d orders over %s kept %.3f of the pace; want saturated %v", tc.name, n, span, kept, tc.saturate)
		}
	}
}

func TestQueueDistortionSaturates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	// Orders on one single-worker dyno, arriving at the given offsets,
	// each served 10 ms (the model) but holding the worker busy long
	// (what the machine did); queued as the dyno records it.
	dyno := func(busy time.Duration, offsets ...time.Duration) []wire.DynoRecord {
		var recs []wire.DynoRecord
		free := t0
		for _, off := range offsets {
			at := t0.Add(off)
			start := at
			if free.After(start) {
				start = free
			}
			recs = append(recs, wire.DynoRecord{Dyno: "dyno-1", Arrived: at, Queued: start.Sub(at),
				Service: 10 * ms, Busy: busy, Outcome: wire.StateCharged})
			free = start.Add(busy)
		}
		return append(recs, wire.DynoRecord{Dyno: "dyno-1", Outcome: "refused"})
	}
	for _, tc := range []struct {
		name     string
		recs     []wire.DynoRecord
		saturate bool
	}{
		// Busy as modelled: waits 0, 9 and 18 ms, nothing added.
		{"exact", dyno(10*ms, 0, ms, 2*ms), false},
		// 2 ms over each time: waits 0, 11, 22 instead of 0, 9, 18 (+22%).
		{"overrun", dyno(12*ms, 0, ms, 2*ms), true},
		// A 0.1 ms wait tripled is still nothing beside 10 ms services.
		{"tiny queue", dyno(10200*time.Microsecond, 0, 9900*time.Microsecond, 30*ms), false},
	} {
		var h result.HarnessHealth
		queueDistortion(&h, tc.recs, 1, 10, nil)
		if h.Saturated != tc.saturate || (tc.saturate && (len(h.Notes) != 1 || !strings.Contains(h.Notes[0], "22%"))) {
			t.Errorf("%s: distortion %.3f, saturated %v, notes %q; want saturated %v", tc.name, h.QueueDistortion, h.Saturated, h.Notes, tc.saturate)
		}
	}
}

// TestLagMeterSamplesAShortRunToo: a run shorter than the meter's tick
// still has a lateness measured, never none (which would read as on time).
func TestLagMeterSamplesAShortRunToo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var l lagMeter
	l.run(ctx)
	if len(l.lags) != 1 || l.p99() <= 0 {
		t.Fatalf("lags %v: want one sample of a timer's lateness", l.lags)
	}
}

// TestQueueDistortionCountsBunchedArrivals: orders the load planned 9 ms
// apart, each served exactly its 10 ms, wait 0, 1, 2 … 9 ms in the model;
// a late timer that sends them 1 ms apart makes them wait 0, 9, 18 … 81.
// The dynos' busy time is exact, so only the planned arrivals show it.
func TestQueueDistortionCountsBunchedArrivals(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	var recs []wire.DynoRecord
	planned := map[string]time.Time{}
	free := t0
	for i := range 10 {
		id := strconv.Itoa(i)
		planned[id] = t0.Add(time.Duration(i) * 9 * ms)
		at := t0.Add(50*ms + time.Duration(i)*ms) // 50 ms late, bunched
		start := at
		if free.After(at) {
			start = free
		}
		recs = append(recs, wire.DynoRecord{RequestID: id, Dyno: "dyno-1", Arrived: at, Queued: start.Sub(at),
			Service: 10 * ms, Busy: 10 * ms, Outcome: wire.StateCharged})
		free = start.Add(10 * ms)
	}
	lookup := func(id string) (time.Time, bool) { t, ok := planned[id]; return t, ok }

	var asPlanned result.HarnessHealth
	queueDistortion(&asPlanned, recs, 1, 1, lookup)
	if !asPlanned.Saturated || len(asPlanned.Notes) != 1 {
		t.Errorf("bunched arrivals: distortion %.3f, saturated %v, notes %q; want saturated", asPlanned.QueueDistortion, asPlanned.Saturated, asPlanned.Notes)
	}
	// Without the plan (the records alone), the same run looks exact:
	// what the check used to see.
	var recorded result.HarnessHealth
	queueDistortion(&recorded, recs, 1, 1, nil)
	if recorded.Saturated {
		t.Errorf("recorded arrivals alone: distortion %.3f saturated; want the busy time found exact", recorded.QueueDistortion)
	}
}

// TestPlannedSendsFollowThePacer: each order is planned where its pacer
// put its sequence number, whatever order the answers came back in.
func TestPlannedSendsFollowThePacer(t *testing.T) {
	l := load.Plan{Stages: []load.Stage{{Duration: 10 * time.Second, From: 10, To: 10}}, Arrivals: load.ArrivalsPoisson, Seed: 5}
	pacer := l.Pacer()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	outs := []load.Outcome{{RequestID: "c", Seq: 7}, {RequestID: "a", Seq: 0}, {RequestID: "b", Seq: 3}, {Seq: 4}}
	at := plannedSends(l, outs, t0)
	for _, o := range outs[:3] {
		want, _ := pacer.Pace(0, o.Seq)
		if got, ok := at(o.RequestID); !ok || !got.Equal(t0.Add(want)) {
			t.Errorf("order %s (seq %d): planned %v %v, want %v", o.RequestID, o.Seq, got, ok, t0.Add(want))
		}
	}
	if _, ok := at("unknown"); ok {
		t.Error("an order the load did not send has a planned time")
	}
}
