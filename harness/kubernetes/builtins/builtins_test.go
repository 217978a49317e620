package builtins

import (
	"strings"
	"testing"
)

// zone-outage-spread against zone-outage-packed: the same outage of zone
// a costs the spread dynos the first seconds' share of the orders and
// the packed ones every order until the zone is back, each built-in
// passing its own expectations.
func TestZoneOutageSpreadAgainstPacked(t *testing.T) {
	const during = "during fault 1: failover_rate "
	spread := RunBuiltin(t, "zone-outage-spread")
	packed := RunBuiltin(t, "zone-outage-packed")
	for _, r := range []struct {
		name    string
		verdict string
		errors  int
	}{{"zone-outage-spread", spread.Verdict, spread.FaultErrors}, {"zone-outage-packed", packed.Verdict, packed.FaultErrors}} {
		if r.verdict != "pass" || r.errors != 0 {
			t.Errorf("%s: verdict %s with %d fault errors, want pass and none", r.name, r.verdict, r.errors)
		}
	}
	s, p := During(t, spread, during+"< 5%"), During(t, packed, during+"> 90%")
	if packed.Failovers < 10*spread.Failovers {
		t.Errorf("failovers %d spread (%.1f%% during the outage) and %d packed (%.1f%%): want the packed dynos' outage to fail over ten times as many orders at least",
			spread.Failovers, 100*s, packed.Failovers, 100*p)
	}
}

// drain-with-budget against drain-without-budget: the cluster refuses
// the evictions the budget forbids and the run reports it, and the dynos
// it kept take the orders; without a budget every dyno goes and the
// orders fail over.
func TestDrainWithAndWithoutBudget(t *testing.T) {
	with := RunBuiltin(t, "drain-with-budget")
	if with.Verdict != "pass" {
		t.Errorf("drain-with-budget: verdict %s: %+v", with.Verdict, with.Expectations)
	}
	if len(with.Outages) != 1 || !strings.Contains(with.Outages[0].Error, "disruption budget") {
		t.Errorf("drain-with-budget: outages %+v, want the drain's refusal by the disruption budget reported", with.Outages)
	}
	without := RunBuiltin(t, "drain-without-budget")
	if without.Verdict != "pass" || without.FaultErrors != 0 {
		t.Errorf("drain-without-budget: verdict %s with %d fault errors (%+v), want pass and none", without.Verdict, without.FaultErrors, without.Outages)
	}
	if without.Failovers < 10*with.Failovers {
		t.Errorf("failovers %d with the budget and %d without: want ten times as many without", with.Failovers, without.Failovers)
	}
}
