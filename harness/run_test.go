package harness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"paydrill/harness/embedded"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/topology"
	"paydrill/internal/machine"
	"paydrill/sim/dist"
	"paydrill/sim/store"
	"paydrill/sim/wire"
)

// smallPlan is a healthy system in wall time: 3 dynos, fast service and
// gateway, 100 orders a second for the given time.
func smallPlan(d time.Duration) *Plan {
	p := &Plan{
		Name: "small", RunID: "test", Seed: 3, Speed: 1, Duration: d, Dynos: 3,
		Configs: topology.DefaultConfigs(),
		Load: load.Plan{
			Stages:    []load.Stage{{Duration: d, From: 100, To: 100}},
			Timeout:   5 * time.Second,
			Customers: 50,
			Amount:    dist.Const{Value: 2500},
			Seed:      3,
		},
		SettleTimeout: 5 * time.Second, SettleQuiet: 100 * time.Millisecond, RTOWindow: time.Second,
	}
	p.Dyno.ServiceTime = dist.Spec{Kind: "const", Value: 0.002}
	p.Dyno.Backlog = 100_000 // a full backlog answers 503, which fails over
	p.Gateway.Latency = dist.Spec{Kind: "const", Value: 0.001}
	// Only a fault should fail an order over: under -race on a busy
	// machine, or in slow containers, an order can take over a second.
	p.Edge.FailoverTimeout = wire.Duration(30 * time.Second)
	p.Reconciler.Interval = wire.Duration(200 * time.Millisecond)
	p.Replayer.Interval = wire.Duration(100 * time.Millisecond)
	return p
}

func TestHealthyRunChargesEveryOrderOnce(t *testing.T) {
	machine.Shared(t) // no other package's exclusive whole-system test meanwhile
	p := smallPlan(2 * time.Second)
	p.Load.Timeout = 30 * time.Second
	r, err := Run(context.Background(), p, Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Orders.Sent < 150 {
		t.Fatalf("sent %d orders, want about 200", r.Orders.Sent)
	}
	if r.Orders.Succeeded != r.Orders.Sent || r.Charges != r.Orders.Sent {
		t.Fatalf("sent %d, succeeded %d, charges %d: want all equal; anomalies %+v, notes %q", r.Orders.Sent, r.Orders.Succeeded, r.Charges, r.Anomalies, r.Harness.Notes)
	}
	if r.Failovers != 0 || r.DoubleCharges+r.PhantomCharges+r.LostOrders+r.Unreconciled+r.WrongMatches != 0 {
		t.Fatalf("failovers %d and anomalies in a healthy run: %+v", r.Failovers, r.Anomalies)
	}
	if r.RTOS != nil {
		t.Fatalf("rto_s = %v with no fault, want null", *r.RTOS)
	}
	if !r.Harness.Settled {
		t.Fatalf("did not settle: %v", r.Harness.Notes)
	}
}

func TestProductionDownFailsOverAndReplays(t *testing.T) {
	machine.Shared(t) // no other package's exclusive whole-system test meanwhile
	p := smallPlan(3 * time.Second)
	p.Faults = []fault.Plan{{Index: 1, Link: "edge->router", Toxic: "down", At: time.Second, For: time.Second}}
	// The down link refuses connections, which fails over at once. Under
	// -race on a busy machine replays can take longer than smallPlan's 5 s
	// settle timeout (settling ends as soon as all is quiet).
	p.Load.Timeout = 30 * time.Second
	p.SettleTimeout = time.Minute
	r, err := Run(context.Background(), p, Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, failovers %d, charges %d, replays %+v, rto %v, wall %.1fs", r.Orders.Sent, r.Failovers, r.Charges, r.Replays, r.RTOS, r.Harness.WallS)
	if r.Failovers < 50 {
		t.Fatalf("failovers = %d while production was down for a third of the run, want ≥ 50", r.Failovers)
	}
	if r.LostOrders != 0 || r.DoubleCharges != 0 {
		t.Fatalf("lost %d, double charged %d: want 0 (claim de-dup, durable capture)", r.LostOrders, r.DoubleCharges)
	}
	if r.Replays.Done < r.Failovers || r.Replays.Pending != 0 {
		t.Fatalf("replays %+v for %d failovers: want every captured order replayed", r.Replays, r.Failovers)
	}
	if r.Charges != r.Orders.Succeeded {
		t.Fatalf("charges %d, succeeded %d: every accepted order should be charged once after replay", r.Charges, r.Orders.Succeeded)
	}
	if r.RTOS == nil || *r.RTOS < 0.9 || *r.RTOS > 1.5 {
		t.Fatalf("rto_s = %v, want about 1s (the outage's length)", r.RTOS)
	}
}

// A directory used by an earlier run starts the next one from empty
// stores: its ledger and orders are not the earlier run's plus its own.
func TestARunInAUsedDirectoryStartsFromEmptyStores(t *testing.T) {
	machine.Shared(t)
	dir := t.TempDir()
	var charges []int
	for i := range 2 {
		p := smallPlan(time.Second)
		p.Load.Timeout = 30 * time.Second
		p.Seed, p.Load.Seed = int64(10+i), int64(10+i) // other orders each time
		r, err := Run(context.Background(), p, Options{Runtime: embedded.Runtime{}, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if r.Charges != r.Orders.Succeeded || r.DoubleCharges != 0 {
			t.Fatalf("run %d in a used directory: %d charges for %d orders, %d double charges", len(charges)+1, r.Charges, r.Orders.Succeeded, r.DoubleCharges)
		}
		charges = append(charges, r.Charges)
	}
}

// A run's stores are in its directory once it has ended, holding what the
// checker counted, and nothing of the run is left in memory (the embedded
// runtime keeps live stores in tmpfs while the system runs).
func TestARunLeavesItsStoresInItsDirectoryAndNothingInMemory(t *testing.T) {
	machine.Shared(t)
	dir := t.TempDir()
	p := smallPlan(time.Second)
	p.Load.Timeout = 30 * time.Second
	r, err := Run(context.Background(), p, Options{Runtime: embedded.Runtime{}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for file, query := range map[string]string{
		"gateway.sqlite": "SELECT count(*) FROM charges",
		"orders.sqlite":  "SELECT count(*) FROM orders",
	} {
		db, err := store.Open(filepath.Join(dir, "stores", file), false)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = db.QueryRow(query).Scan(&n)
		db.Close()
		if err != nil {
			t.Fatalf("stores/%s: %v", file, err)
		}
		if n != r.Charges {
			t.Fatalf("stores/%s holds %d rows after a run of %d charges, want as many", file, n, r.Charges)
		}
	}
	if left := embedded.LiveStoresLeft(); len(left) != 0 {
		t.Fatalf("live stores left behind in memory: %v", left)
	}
}
