package harness

import (
	"context"
	"strings"
	"testing"

	"paydrill/harness/checker"
	"paydrill/harness/embedded"
	"paydrill/internal/machine"
)

// switchover is a planned switchover to a hot standby with no fault: the
// standby's db is promoted at 10 s, and the gslb switched right after.
// Clients' cached answers keep sending orders to the old primary for the
// ttl, and it takes them: split brain, orders the standby never sees. The
// safe order (STEPS replaced) switches the gslb first, with no ttl, and
// promotes 2 s later: nothing reaches the old primary after the switch,
// and the orders sent meanwhile fail over to capture.
const switchover = `name: switchover
speed: auto
duration: 30s
system:
  dynos: {service_time: 50ms}
  gateway: {latency: 50ms}
  regions:
    standby: {mode: hot, promote: 1s, replication_lag: 500ms}
  gslb: {mode: manual, interval: 2s, failures: 2, ttl: TTL}
load: {rate: 5/s, customers: 50}
settle: {timeout: 1m, quiet: 2s}
drill:
  steps:
STEPS
expect:
  - split_brain_orders == 0
`

func TestASwitchoverWithCachedDNSSplitsTheBrain(t *testing.T) {
	if testing.Short() {
		t.Skip("two whole-system runs")
	}
	machine.Shared(t)
	for _, tc := range []struct {
		name, ttl, steps string
		split            bool
	}{
		{"promote then switch, 10s ttl", "10s", `    - {name: promote, do: promote, at: 10s}
    - {name: switch, do: reroute, after: promote}`, true},
		{"switch then promote, no ttl", "0s", `    - {name: switch, do: reroute, at: 10s}
    - {name: promote, do: promote, after: switch, takes: 2s}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(strings.Replace(switchover, "TTL", tc.ttl, 1), "STEPS", tc.steps, 1)
			s := parseScenario(t, "switchover.yaml", body)
			r, err := RunScenario(context.Background(), s, "switchover", Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if r.Regions == nil || r.Drill == nil || r.SplitBrainOrders == nil || r.OrphanCharges == nil || r.RPOS == nil {
				t.Fatalf("a run with a standby region reports regions %v, drill %v, split %v, orphans %v, rpo_s %v: want them all",
					r.Regions, r.Drill, r.SplitBrainOrders, r.OrphanCharges, r.RPOS)
			}
			t.Logf("%s: speed %g, split brain %d, lost %d, orphans %d, rpo %d orders, active %s, wall %.1fs",
				tc.name, r.Speed, *r.SplitBrainOrders, r.LostOrders, *r.OrphanCharges, r.RPOOrders, r.Regions.Active, r.Harness.WallS)
			for _, st := range r.Drill.Steps {
				// Switching before the promotion is the safe order, and the
				// step says what it costs: the standby refuses writes until then.
				if !st.OK && !(st.Do == "reroute" && !tc.split && strings.Contains(st.Outcome, "before its db was promoted")) {
					t.Errorf("step %s: %s", st.Name, st.Outcome)
				}
			}
			if r.Regions.Active != "standby" || r.Regions.SwitchedAtS == nil {
				t.Fatalf("active %s, switched at %v: the reroute did not happen", r.Regions.Active, r.Regions.SwitchedAtS)
			}
			if got := *r.SplitBrainOrders > 0; got != tc.split {
				t.Fatalf("split brain orders %d (%s); want some: %v", *r.SplitBrainOrders, tc.name, tc.split)
			}
			if tc.split {
				// What the old primary took after the promotion the final
				// store does not have: each was told "accepted", and charged.
				if r.LostOrders == 0 || *r.OrphanCharges == 0 || r.Verdict != "fail" {
					t.Errorf("split brain without lost orders (%d), orphan charges (%d) or a failed verdict (%s)", r.LostOrders, *r.OrphanCharges, r.Verdict)
				}
			} else {
				// The safe order loses nothing: the primary took its last
				// order before the switch and had shipped it by the promotion.
				if r.Verdict != "pass" || r.LostOrders != 0 || r.RPOOrders != 0 || *r.OrphanCharges != 0 {
					t.Errorf("verdict %s, lost %d, rpo %d, orphans %d: want a pass with nothing lost", r.Verdict, r.LostOrders, r.RPOOrders, *r.OrphanCharges)
				}
			}
		})
	}
}

// coldUnprovisioned reroutes to a cold standby nobody provisioned: the
// step does what the real switch would (the gslb points at a region that
// does not exist), says it could not do its job, and every order after it
// fails over to capture.
const coldUnprovisioned = `name: cold-reroute
speed: auto
duration: 30s
system:
  dynos: {service_time: 50ms}
  gateway: {latency: 50ms}
  regions:
    standby: {mode: cold, backup_interval: 5s}
  gslb: {mode: manual, interval: 2s, failures: 2, ttl: 0s}
load: {rate: 5/s, customers: 50}
settle: {timeout: 5s, quiet: 1s, required: false}
drill:
  objectives: {rto: 1m}
  steps:
    - {name: switch, do: reroute, at: 10s}
faults:
  - {at: 8s, region: primary, toxic: down}
`

func TestAStepThatCannotDoItsJobDoesWhatTheSystemWould(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole-system run")
	}
	machine.Shared(t)
	s := parseScenario(t, "cold-reroute.yaml", coldUnprovisioned)
	dir := t.TempDir()
	r, err := RunScenario(context.Background(), s, "cold-reroute", Options{Runtime: embedded.Runtime{}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Checked again from its directory (no standby db was ever exported),
	// the run gives the same figures.
	saved, err := checker.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again := saved.Check(saved.Expect, saved.Allow); again.LostOrders != r.LostOrders || again.Failovers != r.Failovers || again.Verdict != r.Verdict {
		t.Errorf("checked again: lost %d, failovers %d, verdict %s; the run said %d, %d, %s", again.LostOrders, again.Failovers, again.Verdict, r.LostOrders, r.Failovers, r.Verdict)
	}
	if r.Drill == nil || len(r.Drill.Steps) != 1 {
		t.Fatalf("drill %+v", r.Drill)
	}
	st := r.Drill.Steps[0]
	t.Logf("step: %+v; failovers %d of %d, rto %v, verdict %s", st, r.Failovers, r.Orders.Sent, r.RTOS, r.Verdict)
	if st.OK || !strings.Contains(st.Outcome, "does not exist") || st.StartedS == nil {
		t.Errorf("rerouting to a cold standby never provisioned: %+v; want it done, not ok, saying the region does not exist", st)
	}
	if r.Regions.Active != "standby" || r.Regions.SwitchedAtS == nil {
		t.Errorf("active %s, switched %v: the gslb was switched, as the real one would be", r.Regions.Active, r.Regions.SwitchedAtS)
	}
	if r.RTOS != nil || r.Failovers < r.Orders.Sent/2 || r.LostOrders != 0 {
		t.Errorf("rto %v, failovers %d of %d, lost %d: want no recovery, the orders after 8 s failed over to capture, none lost",
			r.RTOS, r.Failovers, r.Orders.Sent, r.LostOrders)
	}
	if r.Drill.ObjectivesMet || r.Verdict != "fail" {
		t.Errorf("objectives met %v, verdict %s: production never recovered, so the RTO objective was missed", r.Drill.ObjectivesMet, r.Verdict)
	}
}
