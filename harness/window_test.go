package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paydrill/harness/embedded"
	"paydrill/internal/machine"
	"paydrill/scenarios"
)

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
	machine.Shared(t) // no other package's exclusive whole-system test meanwhile
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
	machine.Shared(t) // no other package's exclusive whole-system test meanwhile
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
