package harness

import (
	"context"
	"testing"
	"time"

	"paydrill/harness/embedded"
	"paydrill/internal/machine"
	"paydrill/scenarios"
	"paydrill/sim/capture"
)

// The capture variant that acknowledges before its write is durable (ack:
// early), the design variant that produces lost orders and RPO: its plan,
// a run where nothing kills capture (nothing lost), and one on docker where
// capture is killed with orders in its buffer (lost, and reported so).

// TestNewPlanMapsCaptureAck: system.capture.ack goes to the capture's
// config as it is, and its flush, a model duration, is divided by the speed.
func TestNewPlanMapsCaptureAck(t *testing.T) {
	s := scenarios.Default()
	s.Speed = 20
	p, err := NewPlan(&s, "ack")
	if err != nil {
		t.Fatal(err)
	}
	if p.Capture.Ack != capture.AckDurable {
		t.Fatalf("default ack %q, want %q", p.Capture.Ack, capture.AckDurable)
	}
	s.System.Capture = scenarios.Capture{Ack: "early", Flush: 2 * time.Second}
	if p, err = NewPlan(&s, "ack"); err != nil {
		t.Fatal(err)
	}
	if p.Capture.Ack != capture.AckEarly || p.Capture.Flush.D() != 100*time.Millisecond {
		t.Fatalf("capture ack %q, flush %v: want early, 2s / 20 = 100ms", p.Capture.Ack, p.Capture.Flush.D())
	}
	if err := p.Capture.Validate(); err != nil {
		t.Fatal(err)
	}
}

// earlyAckScenario: production unreachable from the edge from 5 s to the
// end, so capture takes every order after that, answering each at once and
// writing it to its store within 2 s.
const earlyAckScenario = `name: early-ack
speed: auto
duration: 20s
system:
  capture: {ack: early, flush: 2s}
  dynos: {service_time: 5ms}
  gateway: {latency: 5ms}
  reconciler: {interval: 2s}
load: {rate: 5/s, customers: 50}
settle: {timeout: 2m, quiet: 4s}
faults:
  - {at: 5s, link: edge->router, toxic: down}
expect: [lost_orders == 0]
`

// TestEarlyAckCaptureAloneLosesNothing: acknowledging early is not by
// itself a loss. With nobody killing capture, every order it answered is
// written within the flush (scaled by the speed, so the settle outlasts
// it), replayed once production is back, and charged once.
func TestEarlyAckCaptureAloneLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole system")
	}
	machine.Shared(t)
	s := parseScenario(t, "early-ack.yaml", earlyAckScenario)
	r, err := RunScenario(context.Background(), s, "early-ack", Options{Runtime: embedded.Runtime{}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orders %+v (capture refuses $100 and more), failovers %d, charges %d, replays %+v, lost %d, wall %.1fs",
		r.Orders, r.Failovers, r.Charges, r.Replays, r.LostOrders, r.Harness.WallS)
	if r.Failovers < 50 {
		t.Fatalf("failovers %d, want the 75-odd orders sent after production was cut", r.Failovers)
	}
	if r.LostOrders != 0 || r.RPOOrders != 0 || r.Verdict != "pass" {
		t.Fatalf("lost %d (rpo %d orders, %d cents), verdict %s: want nothing lost without a crash; %+v",
			r.LostOrders, r.RPOOrders, r.RPOCents, r.Verdict, r.Anomalies)
	}
	if !r.Harness.Settled || r.Replays.Pending != 0 || r.Charges != r.Orders.Succeeded || r.DoubleCharges != 0 {
		t.Fatalf("settled %v, replays %+v, charges %d for %d succeeded (%d double): want every order replayed and charged once",
			r.Harness.Settled, r.Replays, r.Charges, r.Orders.Succeeded, r.DoubleCharges)
	}
}
