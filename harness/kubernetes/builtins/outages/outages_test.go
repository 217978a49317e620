// Package outages tests the outage built-ins on paydrill's local
// cluster: their verdicts and figures as on the embedded runtime.
package outages

import (
	"testing"

	"paydrill/harness/kubernetes/builtins"
)

// production-outage on the cluster: its expectations hold as on the
// embedded runtime, with the same failovers within chance (the 2 minutes
// of outage at 5 orders a second are 600 orders).
func TestProductionOutageHasTheEmbeddedVerdict(t *testing.T) {
	r := builtins.RunBuiltin(t, "production-outage")
	if r.Verdict != "pass" {
		t.Errorf("verdict %s: %+v", r.Verdict, r.Expectations)
	}
	if r.Failovers < 590 || r.Failovers > 610 {
		t.Errorf("failovers %d, want about 600 as on the embedded runtime", r.Failovers)
	}
}

// region-outage-warm on the cluster: the warm standby's dynos are
// Deployments at 0 replicas that the drill's provision step scales up,
// and the run measures how long they took to be Ready. The drill's
// figures are the embedded runtime's (README, "Disaster-recovery
// drills"): its RTO 7m55s and RPO 4 orders, $81.27 at seed 22, within
// the few seconds of model time the real start-up adds.
func TestRegionOutageWarmScalesTheStandbyUp(t *testing.T) {
	r := builtins.RunBuiltin(t, "region-outage-warm")
	if r.Verdict != "pass" {
		t.Errorf("verdict %s: %+v", r.Verdict, r.Expectations)
	}
	g := r.Regions
	if g == nil || g.Active != "standby" || g.StartupWallS == nil || *g.StartupWallS <= 0 {
		t.Fatalf("regions %+v: want the standby active at the end and its start-up measured", g)
	}
	t.Logf("the standby's dynos scaled up from 0 until Ready in %.1fs (wall)", *g.StartupWallS)
	if r.RTOS == nil || *r.RTOS < 7*60+40 || *r.RTOS > 8*60+10 {
		t.Errorf("rto %v, want about 7m55s as on the embedded runtime", r.RTOS)
	}
	if r.RPOOrders < 3 || r.RPOOrders > 5 {
		t.Errorf("rpo %d orders, want about 4 as on the embedded runtime", r.RPOOrders)
	}
}
