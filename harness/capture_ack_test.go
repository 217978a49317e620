package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paydrill/internal/machine"
	"paydrill/scenarios"
	"paydrill/sim/capture"
	"paydrill/sim/dist"
	"paydrill/sim/wire"
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
speed: 5
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
	r, err := RunScenario(context.Background(), s, "early-ack", Options{Runtime: Embedded{}, Dir: t.TempDir()})
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

// TestDockerKilledEarlyAckCaptureLosesWhatItAcknowledged is the counterpart
// of TestDockerKilledCaptureKeepsEveryOrderItAcknowledged with capture
// acknowledging early: production is unreachable, so every order fails
// over to capture, which answers at once and writes its buffer 10 s after
// the first order it holds; it is killed 1.5 s into the load, long before
// that, and started again a second later on the same store. Every order it
// acknowledged before the kill is gone: the checker reports each as a lost
// order, all of them as RPO (sent during the outage), and a run expecting
// lost_orders == 0 fails. The orders it acknowledged after it was started
// again are written a flush later, within the settle, and are not lost.
func TestDockerKilledEarlyAckCaptureLosesWhatItAcknowledged(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	// Long against the kill's 1.5 s, so it lands before the first flush
	// even on a machine far slower than this one.
	const flush = 10 * time.Second
	p := dockerPlan(t, 4*time.Second, 25)
	p.Capture.Ack, p.Capture.Flush = capture.AckEarly, wire.Duration(flush)
	p.Load.Amount = dist.Uniform{Min: 100, Max: 9900} // under the $100 risk limit: capture takes them all
	p.Faults = []FaultPlan{
		{Index: 1, Link: "edge->router", Toxic: "down", At: 100 * time.Millisecond},
		{Index: 2, Link: "capture", Toxic: "kill", At: 1500 * time.Millisecond, For: time.Second},
	}
	// What capture acknowledges after it is started again is written a
	// flush later: the settle waits that out before anything is checked.
	p.SettleQuiet, p.SettleTimeout = flush+2*time.Second, 2*time.Minute
	dir := t.TempDir()
	var ev Evidence
	began := time.Now()
	r, err := Run(context.Background(), p, Options{Runtime: Docker{Log: newDockerTestLog(t)}, Dir: dir, Evidence: &ev})
	if err != nil {
		t.Fatal(err)
	}
	Judge(r, &ev, mustExpect(t, "lost_orders == 0"))
	t.Logf("sent %d, succeeded %d, errored %d, failovers %d, charges %d, lost %d, rpo %d orders / %d cents, replays %+v, outages %+v, verdict %s, wall %.1fs (test %.1fs)",
		r.Orders.Sent, r.Orders.Succeeded, r.Orders.Errored, r.Failovers, r.Charges, r.LostOrders, r.RPOOrders, r.RPOCents,
		r.Replays, r.Outages, r.Verdict, r.Harness.WallS, time.Since(began).Seconds())
	for _, o := range r.Outages {
		if o.Error != "" {
			t.Fatalf("fault %d (%s %s): %s", o.Fault, o.Toxic, o.Link, o.Error)
		}
	}
	if !r.Harness.Settled {
		t.Fatalf("did not settle: %v", r.Harness.Notes)
	}
	kill := ev.Faults[1]
	t.Logf("kill applied at %v (%v late), lifted at %v", kill.Start, kill.Lateness, kill.End)
	logs, err := os.ReadFile(filepath.Join(dir, "logs", "capture.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logs), "listening on"); n != 2 {
		t.Fatalf("capture started %d times, want 2 (killed, then started again):\n%s", n, logs)
	}

	// What the client was told and what the stores hold, joined here
	// without the checker: the orders capture acknowledged and no store
	// holds, split by when capture answered them.
	amount, reference := map[string]int64{}, map[string]string{}
	for _, o := range ev.Orders {
		amount[o.RequestID], reference[o.RequestID] = o.AmountCents, o.Reference
	}
	held := map[string]bool{}
	for _, c := range ev.Captured {
		held[c.RequestID] = true
	}
	for _, o := range ev.DB {
		held[o.RequestID] = true
	}
	lost := map[string]bool{}
	var lostCents int64
	beforeKill, afterRestart := 0, 0
	for _, o := range ev.Outcomes {
		if !o.Succeeded() || o.AnsweredBy != wire.AnsweredByCapture {
			continue
		}
		answered := o.Sent + o.Latency
		switch {
		case answered < kill.Start:
			// In the buffer when capture was killed: nothing had been
			// written yet (the first flush was due 10 s after the
			// first order), so it died with the process.
			beforeKill++
			if held[o.RequestID] {
				t.Errorf("order %s, acknowledged %v into the load, before the kill at %v, is in a store: want it lost with the buffer",
					o.RequestID, answered, kill.Start)
			}
		case o.Sent >= kill.End:
			// Acknowledged by the capture started again: written by its
			// flush during the settle.
			afterRestart++
			if !held[o.RequestID] {
				t.Errorf("order %s, acknowledged after capture was started again, is in no store: the settle should outlast its flush", o.RequestID)
			}
		}
		if !held[o.RequestID] {
			lost[o.RequestID] = true
			lostCents += amount[o.RequestID]
		}
	}
	t.Logf("capture acknowledged %d orders before the kill, %d after it was started again; %d lost, %d cents",
		beforeKill, afterRestart, len(lost), lostCents)
	if beforeKill == 0 {
		t.Fatalf("capture acknowledged no order before the kill at %v: the test proves nothing", kill.Start)
	}

	// The checker's figures.
	if r.LostOrders == 0 || r.LostOrders != len(lost) {
		t.Fatalf("lost_orders %d, want the %d orders capture acknowledged and no store holds", r.LostOrders, len(lost))
	}
	if r.RPOOrders == 0 || r.RPOOrders != r.LostOrders || r.RPOCents != lostCents {
		t.Fatalf("rpo %d orders, %d cents: want every lost order (%d, %d cents), all sent during the outage",
			r.RPOOrders, r.RPOCents, r.LostOrders, lostCents)
	}
	var listed int
	var listedCents int64
	for _, a := range r.Anomalies {
		if a.Kind != KindLostOrder {
			continue
		}
		listed++
		listedCents += a.AmountCents
		if !lost[a.RequestID] || a.AmountCents != amount[a.RequestID] || len(a.Charges) != 0 ||
			!strings.Contains(a.ClientTold, "from capture") {
			t.Errorf("lost order reported as %+v: want one of the orders capture acknowledged and lost, its amount, never charged", a)
		}
	}
	if want := min(r.LostOrders, maxEvidence); listed != want {
		t.Fatalf("%d lost orders listed as anomalies, want %d", listed, want)
	}
	if r.LostOrders <= maxEvidence && listedCents != r.RPOCents {
		t.Fatalf("the listed lost orders amount to %d cents, rpo_cents %d", listedCents, r.RPOCents)
	}
	charged := map[string]bool{}
	for _, c := range ev.Ledger {
		charged[c.Reference] = true
	}
	for id := range lost {
		if charged[reference[id]] {
			t.Errorf("lost order %s (%s) was charged", id, reference[id])
		}
	}
	if r.DoubleCharges != 0 {
		t.Fatalf("%d double charges", r.DoubleCharges)
	}

	// The verdict: a run that expects no lost orders fails.
	if r.Verdict != "fail" || len(r.Expectations) != 1 || r.Expectations[0].OK ||
		r.Expectations[0].Value == nil || *r.Expectations[0].Value != float64(r.LostOrders) {
		t.Fatalf("verdict %s, expectations %+v: want lost_orders == 0 failed at %d", r.Verdict, r.Expectations, r.LostOrders)
	}
	if left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false); len(left) > 0 {
		t.Fatalf("left behind after the run: %v", left)
	}
}
