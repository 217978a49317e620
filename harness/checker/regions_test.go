package checker

import (
	"testing"
	"time"

	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// failover is a run of three orders across a failover to the standby at
// 30 s (model = wall, speed 1): a at 0 s and b at 10 s acknowledged by the
// primary, c at 40 s by the standby; the standby was promoted at 30 s,
// 5 s behind the primary. change alters it; the final store holds what
// the standby held.
func failover(change func(e *Evidence, a, b, c load.SentOrder)) result.Result {
	a, b, c := order(0), order(1), order(2)
	began := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := Evidence{
		Orders:    []load.SentOrder{a, b, c},
		Outcomes:  []load.Outcome{told(a, 201, "production", 0), told(b, 201, "production", 10*time.Second), told(c, 201, "production", 40*time.Second)},
		Ledger:    []wire.Charge{charge("ch_1", a), charge("ch_2", b), charge("ch_3", c)},
		DB:        []wire.OrderRecord{held(a, "ch_1", "charged"), held(b, "ch_2", "charged"), held(c, "ch_3", "charged")},
		Began:     began,
		LoadWall:  time.Minute,
		Speed:     1,
		RTOWindow: 5 * time.Second,
		Regions: &RegionEvidence{Mode: "hot", Active: "standby", PromotedAt: began.Add(30 * time.Second), LagAtPromotion: 5 * time.Second,
			GSLB: []wire.GSLBEvent{{At: began.Add(35 * time.Second), What: wire.GSLBSwitched, From: "primary", Region: "standby"}}},
	}
	change(&e, a, b, c)
	return Check(e)
}

func TestRPOIsTheAcknowledgedOrdersTheFailoverLost(t *testing.T) {
	clean := failover(func(*Evidence, load.SentOrder, load.SentOrder, load.SentOrder) {})
	if clean.RPOOrders != 0 || clean.RPOS == nil || *clean.RPOS != 0 || *clean.OrphanCharges != 0 || *clean.SplitBrainOrders != 0 {
		t.Fatalf("nothing lost: rpo %d orders, rpo_s %v, orphans %v, split %v; want all 0", clean.RPOOrders, clean.RPOS, clean.OrphanCharges, clean.SplitBrainOrders)
	}
	if r := clean.Regions; r == nil || r.SwitchedAtS == nil || *r.SwitchedAtS != 35 || *r.PromotedAtS != 30 || *r.LagAtPromotionS != 5 {
		t.Fatalf("regions %+v; want switched at 35 s, promoted at 30 s, 5 s behind", clean.Regions)
	}

	// a and b never reached the standby: replication had not carried
	// them when it was promoted. Their charges stand: orphans.
	lost := failover(func(e *Evidence, a, b, c load.SentOrder) {
		e.DB = []wire.OrderRecord{held(c, "ch_3", "charged")}
	})
	if lost.RPOOrders != 2 || lost.RPOCents != 3000 || lost.LostOrders != 2 {
		t.Errorf("two orders lost: rpo %d orders %d cents, lost %d; want 2, 3000, 2", lost.RPOOrders, lost.RPOCents, lost.LostOrders)
	}
	if lost.RPOS == nil || *lost.RPOS != 10 {
		t.Errorf("rpo_s %v; want 10 (a at 0 s to b at 10 s)", lost.RPOS)
	}
	if *lost.OrphanCharges != 2 {
		t.Errorf("orphan charges %d; want 2 (a's and b's)", *lost.OrphanCharges)
	}
}

func TestSplitBrainOrdersAreTheOldRegionsAfterPromotion(t *testing.T) {
	r := failover(func(e *Evidence, a, b, c load.SentOrder) {
		late := held(c, "ch_3", "charged")
		late.CreatedAt = e.Regions.PromotedAt.Add(2 * time.Second)
		early := held(a, "ch_1", "charged")
		early.CreatedAt = e.Regions.PromotedAt.Add(-time.Second)
		e.Regions.OldPrimary = []wire.OrderRecord{early, late}
	})
	if r.SplitBrainOrders == nil || *r.SplitBrainOrders != 1 {
		t.Fatalf("split brain %v; want 1 (c, taken by the old primary 2 s after the promotion)", r.SplitBrainOrders)
	}
	found := false
	for _, a := range r.Anomalies {
		found = found || a.Kind == result.KindSplitBrain && a.Reference == "ord-c"
	}
	if !found {
		t.Errorf("anomalies %+v; want c's split brain", r.Anomalies)
	}
}

func TestTheDrillTimelineBreaksTheRTODown(t *testing.T) {
	r := failover(func(e *Evidence, a, b, c load.SentOrder) {
		at := func(s int) time.Time { return e.Began.Add(time.Duration(s) * time.Second) }
		// The primary is down from 20 s; production answers again from 40 s.
		e.Faults = []fault.Window{{Fault: fault.Plan{Index: 1, Link: "region:primary", Toxic: "down"}, Start: 20 * time.Second, End: time.Minute}}
		e.Outcomes = []load.Outcome{told(a, 201, "production", 0), told(b, 201, "capture", 25*time.Second), told(c, 201, "production", 40*time.Second)}
		e.Captured = []wire.CapturedRequest{{RequestID: b.RequestID, Reference: b.Reference}}
		e.Regions.Drill = true
		e.Regions.ObjectiveRTO, e.Regions.ObjectiveRPO = 15*time.Second, time.Minute
		e.Regions.Steps = []StepRecord{
			{Name: "page", Do: DoDetect, Started: at(22), Ended: at(26), OK: true},
			{Name: "promote db", Do: DoPromote, Started: at(26), Ended: at(30), OK: true},
			{Name: "switch", Do: DoReroute, Started: at(30), Ended: at(35), OK: true},
		}
	})
	d := r.Drill
	if d == nil || len(d.Steps) != 3 {
		t.Fatalf("drill %+v; want three steps", d)
	}
	if r.RTOS == nil || *r.RTOS != 20 {
		t.Fatalf("rto %v; want 20 s (20 s to 40 s)", r.RTOS)
	}
	b := d.RTOBreakdownS
	for name, got := range map[string]*float64{"detect": b.Detect, "promote": b.Promote, "reroute": b.Reroute, "dns_drain": b.DNSDrain} {
		want := map[string]float64{"detect": 6, "promote": 4, "reroute": 5, "dns_drain": 5}[name]
		if got == nil || *got != want {
			t.Errorf("rto_breakdown_s.%s = %v; want %v", name, got, want)
		}
	}
	if b.Provision != nil {
		t.Errorf("provision %v; want null: no such step", *b.Provision)
	}
	if d.ObjectivesMet {
		t.Error("an RTO of 20 s met an objective of 15 s")
	}
	events := map[string]bool{}
	for _, e := range d.Events {
		events[e.What] = true
	}
	if !events["first order production did not answer"] || !events["gslb: switched primary → standby"] {
		t.Errorf("events %+v; want the first failed order and the switch", d.Events)
	}
}

func TestStandbyMonthlyCost(t *testing.T) {
	for mode, want := range map[string]int64{"hot": 730 * (40 + 50 + 4*10), "warm": 730 * (40 + 50), "cold": 0} {
		if got := StandbyMonthlyCostCents(mode, 4, 10, 40, 50); got != want {
			t.Errorf("%s: %d cents a month; want %d", mode, got, want)
		}
	}
}

// A missed objective fails the run as a failed expectation does, and one
// met passes it.
func TestMissedObjectivesFailTheRun(t *testing.T) {
	for _, tc := range []struct {
		rto, rpo time.Duration
		verdict  string
	}{{time.Minute, time.Minute, "pass"}, {10 * time.Second, time.Minute, "fail"}, {time.Minute, time.Second, "fail"}} {
		r := failover(func(e *Evidence, a, b, c load.SentOrder) {
			e.Faults = []fault.Window{{Fault: fault.Plan{Index: 1, Link: "region:primary", Toxic: "down"}, Start: 20 * time.Second, End: time.Minute}}
			e.DB = []wire.OrderRecord{held(c, "ch_3", "charged")} // a and b lost: rpo_s 10
			e.Regions.Drill, e.Regions.ObjectiveRTO, e.Regions.ObjectiveRPO = true, tc.rto, tc.rpo
		})
		Judge(&r, nil, nil)
		if r.Verdict != tc.verdict || r.Drill.ObjectivesMet != (tc.verdict == "pass") || len(r.Expectations) != 2 {
			t.Errorf("rto %v (objective %s), rpo %v (objective %s): verdict %s, met %v, %+v; want %s",
				*r.RTOS, tc.rto, *r.RPOS, tc.rpo, r.Verdict, r.Drill.ObjectivesMet, r.Expectations, tc.verdict)
		}
	}
}
