package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paydrill/harness/embedded"
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

// windowScenario is a small scenario: 5 orders a second for 30 s with
// production unreachable from the edge from 10 s to 20 s.
const windowScenario = `name: window
speed: auto
duration: 30s
rto_window: 2s
system:
  dynos: {service_time: 5ms}
  gateway: {latency: 5ms}
  reconciler: {interval: 2s}
load: {rate: 5/s, customers: 50}
settle: {timeout: 1m, quiet: 2s}
faults:
  - {at: 10s, for: 10s, link: edge->router, toxic: down}
expect:
  - failover_rate > 90%
  - during fault 1: failover_rate > 90%
  - after recovery for 5s: failovers == 0
`

// parseScenario parses and validates a scenario, slowed down under the
// race detector (which slows every HTTP hop about tenfold).
func parseScenario(t *testing.T, name, body string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse(name, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if raceDetector {
		if err := s.Set("speed", "5"); err != nil {
			t.Fatal(err)
		}
	}
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	return s
}

func TestRunScenarioJudgesWindows(t *testing.T) {
	s := parseScenario(t, "window.yaml", windowScenario)
	r, err := RunScenario(context.Background(), s, "window", Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	whole, during, after := r.Expectations[0], r.Expectations[1], r.Expectations[2]
	t.Logf("whole %v, during %v over %+v, after %v over %+v, wall %.1fs", *whole.Value, *during.Value, during.Window, after.Value, after.Window, r.Harness.WallS)
	if whole.OK || *whole.Value > 0.5 {
		t.Errorf("whole run: failover_rate %v held > 90%%: a third of the run was down", *whole.Value)
	}
	if !during.OK || during.Window == nil || during.Window.Orders < 40 {
		t.Errorf("during the outage: %+v, want failover_rate > 90%% over about 50 orders", during)
	}
	if !after.OK || after.Window == nil || after.Window.FromS < 19 || after.Window.Orders < 15 {
		t.Errorf("after recovery: %+v, want no failovers over the 5s after 20s", after)
	}
	if r.Verdict != "fail" {
		t.Errorf("verdict %s with the whole-run expectation failing", r.Verdict)
	}
}

func TestAbortIfEndsALongRunEarly(t *testing.T) {
	// Ten model minutes (30 s wall) with production down from 10 s: the
	// stop condition holds within a second or two of wall time.
	body := strings.Replace(windowScenario, "duration: 30s", "duration: 10m", 1)
	body = strings.Replace(body, "{at: 10s, for: 10s, link: edge->router, toxic: down}",
		"{at: 10s, link: edge->router, toxic: down}\n  - {at: 5m, for: 1m, link: dyno->gateway, toxic: timeout}", 1)
	body = body[:strings.Index(body, "expect:")] + "expect: [lost_orders == 0]\nabort_if:\n  - failovers > 40\n"
	s := parseScenario(t, "abort.yaml", body)
	dir := t.TempDir()
	began := time.Now()
	r, err := RunScenario(context.Background(), s, "abort", Options{Runtime: embedded.Runtime{}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(began)
	t.Logf("wall %v, model %.0fs, sent %d, failovers %d, notes %q", wall, r.ModelDurationS, r.Orders.Sent, r.Failovers, r.Harness.Notes)
	if !r.Harness.Aborted || !strings.Contains(r.Harness.AbortReason, "failovers > 40") {
		t.Fatalf("aborted %v, reason %q: want ended by failovers > 40", r.Harness.Aborted, r.Harness.AbortReason)
	}
	if r.ModelDurationS > 200 || r.Orders.Sent > 1000 {
		t.Fatalf("ran %.0fs model, %d orders: the load should have stopped within seconds of 10s model time", r.ModelDurationS, r.Orders.Sent)
	}
	if r.Failovers <= 40 {
		t.Fatalf("failovers %d: the condition did not hold", r.Failovers)
	}
	if len(r.Outages) != 1 {
		t.Fatalf("outages %+v: the fault at 5m never happened and must not be reported", r.Outages)
	}
	if r.Verdict != "fail" || !r.Expectations[0].OK {
		t.Fatalf("verdict %s (expectations %+v): an aborted run fails even when its expectations hold", r.Verdict, r.Expectations)
	}
	if !strings.Contains(strings.Join(r.Harness.Notes, "\n"), "aborted early: abort_if failovers > 40 held") {
		t.Fatalf("notes %q do not say why the run was aborted", r.Harness.Notes)
	}
	if _, err := os.Stat(filepath.Join(dir, "results.ndjson")); err != nil {
		t.Fatal(err)
	}
}
