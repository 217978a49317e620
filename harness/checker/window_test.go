package checker

import (
	"strings"
	"testing"
	"time"

	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/scenarios"
	"paydrill/sim/wire"
)

// outageEvidence is 60 orders, one a second, all charged once; production
// is down from 20 s to 30 s and capture answers the 10 orders sent then.
func outageEvidence() Evidence {
	var ev Evidence
	for i := 0; i < 60; i++ {
		o := load.SentOrder{RequestID: string(rune(0x100 + i)), Reference: string(rune(0x200 + i)), Customer: "cus_1", AmountCents: 1000}
		by := "production"
		if i >= 20 && i < 30 {
			by = "capture"
			ev.Captured = append(ev.Captured, wire.CapturedRequest{RequestID: o.RequestID})
		}
		ev.Orders = append(ev.Orders, o)
		ev.Outcomes = append(ev.Outcomes, told(o, 201, by, time.Duration(i)*time.Second))
		ev.Ledger = append(ev.Ledger, charge("ch_"+o.RequestID, o))
		ev.DB = append(ev.DB, held(o, "ch_"+o.RequestID, "charged"))
	}
	ev.Speed, ev.RTOWindow, ev.LoadWall = 1, 5*time.Second, 60*time.Second
	ev.Faults = []fault.Window{{Fault: fault.Plan{Index: 1, Link: "edge->router", Toxic: "down"}, Start: 20 * time.Second, End: 30 * time.Second}}
	return ev
}

func mustExpect(t *testing.T, exprs ...string) []scenarios.Expectation {
	t.Helper()
	var out []scenarios.Expectation
	for _, x := range exprs {
		e, err := scenarios.ParseExpectation(x)
		if err != nil {
			t.Fatalf("%q: %v", x, err)
		}
		out = append(out, e)
	}
	return out
}

func TestWindowCountsOnlyItsOrders(t *testing.T) {
	ev := outageEvidence()
	// A second charge, made later, for an order sent during the outage.
	ev.Ledger = append(ev.Ledger, charge("ch_again", ev.Orders[25]))
	w := CheckWindow(ev, 20*time.Second, 30*time.Second)
	if w.Orders.Sent != 10 || w.Failovers != 10 || w.FailoverRate != 1 {
		t.Fatalf("during the outage: sent %d, failovers %d (rate %v); want 10, 10, 1", w.Orders.Sent, w.Failovers, w.FailoverRate)
	}
	if w.DoubleCharges != 1 || w.Charges != 11 {
		t.Fatalf("during the outage: %d double charges, %d charges; want 1 (charged again after the window), 11", w.DoubleCharges, w.Charges)
	}
	after := CheckWindow(ev, 30*time.Second, time.Hour)
	if after.Orders.Sent != 30 || after.Failovers != 0 || after.DoubleCharges != 0 || after.Charges != 30 {
		t.Fatalf("after the outage: %+v", after.Orders)
	}
}

func TestJudgeWindowsSeeWhatTheWholeRunDilutes(t *testing.T) {
	ev := outageEvidence()
	r := Check(ev)
	r.Speed, r.ModelDurationS = 1, 60
	exps := mustExpect(t,
		"failover_rate > 90%",                 // the whole run: 10 of 60
		"during fault 1: failover_rate > 90%", // the outage alone: 10 of 10
		"after recovery: failovers == 0",      // from 30 s: none
		"after fault 1 for 5s: orders.sent == 5",
		"during fault 2: failovers == 0", // there is no fault 2
	)
	Judge(&r, &ev, exps)
	want := []struct {
		ok    bool
		value float64 // -1: null
		from  float64
		note  string
	}{
		{false, 10.0 / 60, 0, ""},
		{true, 1, 20, ""},
		{true, 0, 30, ""},
		{true, 5, 30, ""},
		{false, -1, 0, "fault 2 never happened"},
	}
	for i, w := range want {
		v := r.Expectations[i]
		switch {
		case v.OK != w.ok:
			t.Errorf("%s: ok %v, want %v (%+v)", v.Expr, v.OK, w.ok, v)
		case w.value < 0 && v.Value != nil, w.value >= 0 && (v.Value == nil || *v.Value != w.value):
			t.Errorf("%s: value %v, want %v", v.Expr, v.Value, w.value)
		case w.note != "" && !strings.Contains(v.Note, w.note):
			t.Errorf("%s: note %q, want %q", v.Expr, v.Note, w.note)
		case i > 0 && w.note == "" && (v.Window == nil || v.Window.FromS != w.from):
			t.Errorf("%s: window %+v, want from %vs", v.Expr, v.Window, w.from)
		}
	}
	if r.Verdict != "fail" {
		t.Fatalf("verdict %s with failed expectations", r.Verdict)
	}

	// Without the evidence a window cannot be judged: it fails, saying why.
	Judge(&r, nil, mustExpect(t, "during fault 1: failover_rate > 90%"))
	if v := r.Expectations[0]; v.OK || !strings.Contains(v.Note, "evidence") {
		t.Fatalf("judged without evidence: %+v", v)
	}

	// Never recovering: nothing comes after recovery.
	for i := 30; i < 60; i++ {
		ev.Outcomes[i].AnsweredBy = "capture"
	}
	r = Check(ev)
	r.Speed, r.ModelDurationS = 1, 60
	Judge(&r, &ev, mustExpect(t, "after recovery: failovers == 0"))
	if v := r.Expectations[0]; v.OK || !strings.Contains(v.Note, "never recovered") {
		t.Fatalf("after recovery that never came: %+v", v)
	}
}

// TestTrustFailsWhatCannotBeTrusted: a run whose expectations all hold
// still fails when it did not settle or was saturated, saying why, unless
// the user allowed it; checking it again adds no second note.
func TestTrustFailsWhatCannotBeTrusted(t *testing.T) {
	for _, tc := range []struct {
		name              string
		settled, saturate bool
		allow             Allow
		want              string
		note              string
	}{
		{"settled, kept up", true, false, Allow{}, "pass", ""},
		{"did not settle", false, false, Allow{}, "fail", "did not settle"},
		{"did not settle, allowed", false, false, Allow{Unsettled: true}, "pass", ""},
		{"saturated", true, true, Allow{}, "fail", "could not keep up"},
		{"saturated, allowed", true, true, Allow{Saturated: true}, "pass", ""},
		{"both, one allowed", false, true, Allow{Saturated: true}, "fail", "did not settle"},
	} {
		ev := outageEvidence()
		r := Check(ev)
		r.Harness.Settled, r.Harness.Saturated = tc.settled, tc.saturate
		Judge(&r, &ev, mustExpect(t, "double_charges == 0"))
		Trust(&r, tc.allow)
		Trust(&r, tc.allow)
		notes := strings.Join(r.Harness.Notes, "\n")
		if r.Verdict != tc.want || !r.Expectations[0].OK {
			t.Errorf("%s: verdict %s (expectation held %v), want %s", tc.name, r.Verdict, r.Expectations[0].OK, tc.want)
		}
		if tc.note == "" && notes != "" || tc.note != "" && strings.Count(notes, tc.note) != 1 {
			t.Errorf("%s: notes %q, want one saying %q", tc.name, notes, tc.note)
		}
	}
}
