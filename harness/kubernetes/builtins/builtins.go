// Package builtins runs built-in scenarios on paydrill's local cluster
// for the tests: RunBuiltin, and this package's own tests of the
// redundancy built-ins (zone-outage-spread against -packed,
// drain-with-budget against -without-budget). The outage built-ins'
// tests (production-outage, region-outage-warm) are in package outages
// beside it, so that neither package's runs come near go test's ten
// minutes a package.
package builtins

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydrill/harness"
	"paydrill/harness/kubernetes"
	"paydrill/harness/result"
	"paydrill/scenarios"
)

// RunBuiltin runs the built-in scenario name on the local cluster at its
// own speed (auto: the runtime's SpeedLimit) as `paydrill run NAME
// --runtime kubernetes` does, and checks what every run must show: the
// harness kept up, the orders add up, and nothing of the run is left on
// the cluster or the host. It does not judge the verdict: the caller
// says what the scenario shows. The run is a subtest of t named name,
// which holds the machine while it runs (a test comparing two built-ins
// takes it twice, one after the other); t is skipped when it was, as
// kubernetes.ForTest says, and ends when it failed.
func RunBuiltin(t *testing.T, name string) *result.Result {
	t.Helper()
	var r *result.Result
	ran := t.Run(name, func(t *testing.T) { r = runBuiltin(t, name) })
	switch {
	case r == nil && !ran:
		t.FailNow()
	case r == nil:
		t.SkipNow()
	}
	return r
}

func runBuiltin(t *testing.T, name string) *result.Result {
	t.Helper()
	rt := kubernetes.ForTest(t)
	s, err := scenarios.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("test-%s-%d", strings.ToLower(name), time.Now().UnixNano()%1e9)
	r, err := harness.RunScenario(context.Background(), s, runID, harness.Options{Runtime: rt, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: speed %g, %d orders, failovers %d (%.2f%%), rto %v, fault errors %d, lost %d, double %d, verdict %s",
		name, r.Speed, r.Orders.Sent, r.Failovers, 100*r.FailoverRate, rto(r), r.FaultErrors, r.LostOrders, r.DoubleCharges, r.Verdict)
	for _, e := range r.Expectations {
		t.Logf("  ok %v: %s (%s)", e.OK, e.Expr, value(e.Value))
	}
	if r.Harness.Saturated {
		t.Errorf("the harness could not keep up at speed %g: %v", r.Speed, r.Harness.Notes)
	}
	if o := r.Orders; o.Sent == 0 || o.Sent != o.Succeeded+o.Rejected+o.Errored {
		t.Errorf("orders %+v do not add up", o)
	}
	left, err := rt.Leftovers(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left behind after the run: %v", left)
	}
	return r
}

func rto(r *result.Result) string {
	if r.RTOS == nil {
		return "none"
	}
	return fmt.Sprintf("%.1fs", *r.RTOS)
}

// During is the value of a windowed expectation of r, by its expression
// ("during fault 1: failover_rate < 5%"); t fails when r has none.
func During(t *testing.T, r *result.Result, expr string) float64 {
	t.Helper()
	for _, e := range r.Expectations {
		if e.Expr == expr {
			if e.Value == nil {
				t.Fatalf("%s has no value", expr)
			}
			return *e.Value
		}
	}
	t.Fatalf("the result has no expectation %q: %+v", expr, r.Expectations)
	return 0
}

func value(v *float64) string {
	if v == nil {
		return "no value"
	}
	return fmt.Sprintf("%.4g", *v)
}
