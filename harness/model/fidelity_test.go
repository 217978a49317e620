package model_test

import (
	"context"
	"math"
	"testing"
	"time"

	"paydrill/harness"
	"paydrill/harness/model"
	"paydrill/harness/queueing"
	"paydrill/harness/result"
	"paydrill/scenarios"
)

// The model's fidelity cases are the live runtime's (harness/queueing's
// fidelity tests) run long: with no machine in the way, only chance
// separates the model from the closed form, and enough orders (a few
// hundred thousand, a second of wall time) bring that within 3%.

func TestModelRandomMM1(t *testing.T) {
	s := queueScenario(t, `
name: random-mm1
seed: 1
duration: 2h
system:
  router: {strategy: random}
  dynos: {count: 32, workers: 1, service_time: {dist: exponential, mean: 200ms}}
load: {rate: 80/s, arrivals: poisson}
`)
	checkFormula(t, s, "M/M/1", queueing.MM1(s.Load.Rate/32, 0.2))
}

func TestModelRandomPollaczekKhinchine(t *testing.T) {
	s := queueScenario(t, `
name: random-mg1
seed: 1
duration: 2h
system:
  router: {strategy: random}
  dynos: {count: 32, workers: 1, service_time: {dist: lognormal, median: 200ms, p99: 600ms}}
load: {rate: 71.56/s, arrivals: poisson}
`)
	d, err := s.System.Dynos.ServiceTime.Spec().Dist()
	if err != nil {
		t.Fatal(err)
	}
	checkFormula(t, s, "M/G/1", queueing.PollaczekKhinchine(s.Load.Rate/32, d.Mean(), d.SecondMoment()))
}

func TestModelRoundRobinErlang(t *testing.T) {
	s := queueScenario(t, `
name: round-robin-e32m1
seed: 1
duration: 2h
system:
  router: {strategy: round-robin}
  dynos: {count: 32, workers: 1, service_time: {dist: exponential, mean: 200ms}}
load: {rate: 96/s, arrivals: poisson}
`)
	checkFormula(t, s, "E32/M/1", queueing.ErlangArrivals(32, s.Load.Rate, 0.2))
}

func TestModelCentralQueueMMc(t *testing.T) {
	s := queueScenario(t, `
name: central-mm4
seed: 1
duration: 1h
system:
  router: {strategy: random}
  dynos: {count: 16, workers: 4, service_time: {dist: exponential, mean: 200ms}}
load: {rate: 192/s, arrivals: poisson}
`)
	checkFormula(t, s, "M/M/4", queueing.MMc(4, 192.0/16, 0.2))
}

// queueScenario parses a queueing case: timeouts and the backlog far
// beyond any wait, so no order is refused or given up on.
func queueScenario(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse(t.Name()+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"dynos.backlog": "100000", "router.timeout": "10h", "edge.failover_timeout": "10h", "load.timeout": "10h",
		"gateway.latency": "0s", "replayer.mode": "manual",
	} {
		if err := s.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	return s
}

func simulate(t *testing.T, s *scenarios.Scenario) *result.Result {
	t.Helper()
	r, err := harness.RunScenario(context.Background(), s, "test", harness.Options{Runtime: model.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func checkFormula(t *testing.T, s *scenarios.Scenario, queue string, want float64) {
	t.Helper()
	began := time.Now()
	r := simulate(t, s)
	got := r.QueueMS.Mean / 1000
	off := got/want - 1
	t.Logf("%s: %d orders in %.2fs wall; mean queue %.2f ms (± %.2f), formula %.2f ms (%+.2f%%)",
		queue, r.Orders.Sent, time.Since(began).Seconds(), 1000*got, r.QueueMS.MeanCI95, 1000*want, 100*off)
	if r.Orders.Errored > 0 || r.Failovers > 0 {
		t.Errorf("%d errored, %d failed over: want every order answered by production", r.Orders.Errored, r.Failovers)
	}
	if math.Abs(off) > 0.03 {
		t.Errorf("%s: the model's mean queue time %.2f ms is %+.1f%% from the formula's %.2f ms: want within 3%%", queue, 1000*got, 100*off, 1000*want)
	}
}

// A sweep on the model runtime takes a range and finds the smallest
// setting that meets a condition: random routing needs four times the
// dynos least-conn needs for the same queue time (the 2013 finding).
func TestModelSweepFinds(t *testing.T) {
	s, err := scenarios.Builtin("random-vs-least-conn")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("expect", "[]"); err != nil {
		t.Fatal(err)
	}
	var axes []harness.Axis
	for _, kv := range []string{"dynos.count=8..128*2", "router.strategy=random,least-conn"} {
		a, err := harness.ParseAxis(kv)
		if err != nil {
			t.Fatal(err)
		}
		axes = append(axes, a)
	}
	if got := axes[0].Values; len(got) != 5 || got[0] != "8" || got[4] != "128" {
		t.Fatalf("8..128*2 is %v, want 8 16 32 64 128", got)
	}
	began := time.Now()
	res, err := harness.Sweep(context.Background(), s, axes, harness.SweepOptions{Runtime: model.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows in %.2fs", len(res.Rows), time.Since(began).Seconds())
	cond, err := scenarios.ParseExpectation("queue_ms.mean < 100ms")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range harness.Find(res, axes, cond) {
		found[f.Others.String()] = f.Value
	}
	if found["router.strategy=random"] != "32" || found["router.strategy=least-conn"] != "8" {
		t.Errorf("found %v: want 32 dynos with random routing, 8 with least-conn", found)
	}
}
