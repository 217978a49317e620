package harness

import (
	"context"
	"testing"
	"time"

	"paydrill/harness/embedded"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/internal/machine"
	"paydrill/sim/dist"
	"paydrill/sim/wire"
)

// TestBlackholedGatewayMakesPhantomCharges: the gateway charges but its
// answer never arrives; high-risk orders are refused (402), so every one
// of them is a charge the customer was told failed.
func TestBlackholedGatewayMakesPhantomCharges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system")
	}
	machine.Exclusive(t)
	p := smallPlan(time.Second)
	p.Load.Stages = []load.Stage{{Duration: time.Second, From: 40, To: 40}}
	p.Load.Amount = dist.Const{Value: 25000} // $250: over the $100 risk limit
	p.Dyno.GatewayTimeout = wire.Duration(100 * time.Millisecond)
	p.Faults = []fault.Plan{{Index: 1, Link: "dyno->gateway", Toxic: "timeout", Stream: "downstream", Attributes: map[string]int64{"timeout": 0}}}
	r, err := Run(context.Background(), p, Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Orders.Rejected != r.Orders.Sent || r.Orders.Sent == 0 {
		t.Fatalf("orders %+v: want every high-risk order refused while the gateway's answers are lost", r.Orders)
	}
	if r.PhantomCharges != r.Orders.Sent || r.Charges != r.Orders.Sent {
		t.Fatalf("phantom charges %d, charges %d, sent %d: want every refused order charged", r.PhantomCharges, r.Charges, r.Orders.Sent)
	}
}

// TestUnreachableGatewayLeavesExposure: low-risk orders are accepted with a
// gateway-down id while the gateway is unreachable, and the reconciler
// cannot reach it either, so they are never charged: money at risk.
func TestUnreachableGatewayLeavesExposure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system")
	}
	machine.Exclusive(t)
	p := smallPlan(time.Second)
	p.Load.Stages = []load.Stage{{Duration: time.Second, From: 40, To: 40}}
	p.Load.Amount = dist.Const{Value: 2500}
	p.SettleTimeout = 500 * time.Millisecond
	p.Faults = []fault.Plan{
		{Index: 1, Link: "dyno->gateway", Toxic: "down"},
		{Index: 2, Link: "reconciler->gateway", Toxic: "down"},
	}
	// Faults are lifted when the load ends; keep the reconciler from
	// running again during the short settle.
	p.Reconciler.Interval = wire.Duration(time.Hour)
	r, err := Run(context.Background(), p, Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Orders.Succeeded != r.Orders.Sent || r.Charges != 0 {
		t.Fatalf("orders %+v, charges %d: want every low-risk order accepted uncharged", r.Orders, r.Charges)
	}
	if r.Unreconciled != r.Orders.Sent || r.ExposureCents != int64(r.Orders.Sent)*2500 {
		t.Fatalf("unreconciled %d, exposure %d cents for %d orders of $25", r.Unreconciled, r.ExposureCents, r.Orders.Sent)
	}
	if r.Harness.Settled {
		t.Fatal("the run says it settled with every order still to reconcile")
	}
}
