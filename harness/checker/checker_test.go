package checker

import (
	"math"
	"math/rand"
	"testing"
	"time"

	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/sim/wire"
)

// order makes sent order n with a fixed customer and amount.
func order(n int) load.SentOrder {
	return load.SentOrder{Index: n, RequestID: string(rune('a' + n)), Reference: "ord-" + string(rune('a'+n)), Customer: "cus_1", AmountCents: 1000 * int64(n+1)}
}

func told(o load.SentOrder, code int, by string, sent time.Duration) load.Outcome {
	return load.Outcome{RequestID: o.RequestID, Code: code, AnsweredBy: by, Sent: sent, Latency: 10 * time.Millisecond}
}

func charge(id string, o load.SentOrder) wire.Charge {
	return wire.Charge{ID: id, Reference: o.Reference, Customer: o.Customer, AmountCents: o.AmountCents}
}

func held(o load.SentOrder, gatewayID, state string) wire.OrderRecord {
	return wire.OrderRecord{RequestID: o.RequestID, Reference: o.Reference, Customer: o.Customer, AmountCents: o.AmountCents, GatewayID: gatewayID, State: state}
}

func TestCheckFindsEveryAnomaly(t *testing.T) {
	a, b := order(0), order(1)
	base := func() Evidence {
		return Evidence{Orders: []load.SentOrder{a, b}, Speed: 1, RTOWindow: 10 * time.Second, LoadWall: time.Minute}
	}
	tests := []struct {
		name string
		ev   func(Evidence) Evidence
		want result.Result // only the counted figures are compared
	}{
		{
			// Both orders answered by production and charged once: nothing wrong.
			name: "healthy",
			ev: func(e Evidence) Evidence {
				e.Outcomes = []load.Outcome{told(a, 201, "production", 0), told(b, 201, "production", time.Second)}
				e.Ledger = []wire.Charge{charge("ch_1", a), charge("ch_2", b)}
				e.DB = []wire.OrderRecord{held(a, "ch_1", "charged"), held(b, "ch_2", "charged")}
				return e
			},
			want: result.Result{Charges: 2},
		},
		{
			// Captured, then replayed without de-dup after production had charged it too.
			name: "double charge",
			ev: func(e Evidence) Evidence {
				e.Outcomes = []load.Outcome{told(a, 201, "capture", 0), told(b, 201, "production", 0)}
				e.Edge = []wire.EdgeRecord{{RequestID: a.RequestID, AnsweredBy: "capture"}}
				e.Ledger = []wire.Charge{charge("ch_1", a), charge("ch_2", a), charge("ch_3", b)}
				e.DB = []wire.OrderRecord{held(a, "ch_1", "charged"), held(b, "ch_3", "charged")}
				e.Captured = []wire.CapturedRequest{{RequestID: a.RequestID}}
				return e
			},
			want: result.Result{Charges: 3, DoubleCharges: 1, Failovers: 1},
		},
		{
			// The gateway charged, its answer was lost, and the high-risk order was refused.
			name: "phantom charge",
			ev: func(e Evidence) Evidence {
				e.Outcomes = []load.Outcome{told(a, 402, "production", 0), told(b, 201, "production", 0)}
				e.Ledger = []wire.Charge{charge("ch_1", a), charge("ch_2", b)}
				e.DB = []wire.OrderRecord{held(a, "", "failed"), held(b, "ch_2", "charged")}
				return e
			},
			want: result.Result{Charges: 2, PhantomCharges: 1},
		},
		{
			// Accepted by capture, and capture lost it.
			name: "lost order",
			ev: func(e Evidence) Evidence {
				e.Outcomes = []load.Outcome{told(a, 201, "capture", 0), told(b, 201, "production", 0)}
				e.Ledger = []wire.Charge{charge("ch_2", b)}
				e.DB = []wire.OrderRecord{held(b, "ch_2", "charged")}
				return e
			},
			want: result.Result{Charges: 1, LostOrders: 1, Failovers: 1},
		},
		{
			// Accepted with a gateway-down id and never reconciled: money at risk.
			name: "unreconciled",
			ev: func(e Evidence) Evidence {
				e.Outcomes = []load.Outcome{told(a, 201, "production", 0), told(b, 201, "production", 0)}
				e.Ledger = []wire.Charge{charge("ch_2", b)}
				e.DB = []wire.OrderRecord{held(a, "gateway-down-00", "deferred"), held(b, "ch_2", "charged")}
				return e
			},
			want: result.Result{Charges: 1, Unreconciled: 1, ExposureCents: a.AmountCents},
		},
		{
			// The similar-order finder gave b the charge of a: b is never charged.
			name: "wrong match",
			ev: func(e Evidence) Evidence {
				e.Outcomes = []load.Outcome{told(a, 201, "production", 0), told(b, 201, "production", 0)}
				e.Ledger = []wire.Charge{charge("ch_1", a)}
				e.DB = []wire.OrderRecord{held(a, "ch_1", "charged"), held(b, "ch_1", "charged")}
				return e
			},
			want: result.Result{Charges: 1, WrongMatches: 1, Unreconciled: 1, ExposureCents: b.AmountCents},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Check(tc.ev(base()))
			type figures struct {
				Charges, Double, Phantom, Lost, Unrec, Wrong, Failovers int
				Exposure                                                int64
			}
			g := figures{got.Charges, got.DoubleCharges, got.PhantomCharges, got.LostOrders, got.Unreconciled, got.WrongMatches, got.Failovers, got.ExposureCents}
			w := figures{tc.want.Charges, tc.want.DoubleCharges, tc.want.PhantomCharges, tc.want.LostOrders, tc.want.Unreconciled, tc.want.WrongMatches, tc.want.Failovers, tc.want.ExposureCents}
			if g != w {
				t.Fatalf("figures = %+v, want %+v", g, w)
			}
			n := 0
			for _, an := range got.Anomalies {
				if an.RequestID == "" || an.ClientTold == "" {
					t.Errorf("anomaly without evidence: %+v", an)
				}
				n++
			}
			if want := w.Double + w.Phantom + w.Lost + w.Unrec + w.Wrong; n != want {
				t.Errorf("%d anomalies listed, want %d", n, want)
			}
		})
	}
}

func TestRTOIsTimeUntilProductionAnswersAgain(t *testing.T) {
	var orders []load.SentOrder
	var outs []load.Outcome
	// One order a second for 120 s; production is down from 30 s to 60 s
	// (capture answers), healthy again from 60 s.
	for i := 0; i < 120; i++ {
		o := load.SentOrder{RequestID: string(rune(0x100 + i)), Reference: string(rune(0x100 + i))}
		by := "production"
		if i >= 30 && i < 60 {
			by = "capture"
		}
		orders = append(orders, o)
		outs = append(outs, told(o, 201, by, time.Duration(i)*time.Second))
	}
	ev := Evidence{
		Orders: orders, Outcomes: outs, Speed: 1, RTOWindow: 10 * time.Second, LoadWall: 120 * time.Second,
		Faults: []fault.Window{{Fault: fault.Plan{Index: 1, Link: "edge->router", Toxic: "down"}, Start: 30 * time.Second, End: 60 * time.Second}},
	}
	r := Check(ev)
	if r.RTOS == nil || *r.RTOS != 30 {
		t.Fatalf("rto_s = %v, want 30", r.RTOS)
	}
	if r.Failovers != 30 {
		t.Errorf("failovers = %d, want 30", r.Failovers)
	}

	// An order accepted at 40 s and held nowhere was lost in the outage.
	lost := ev
	lost.Outcomes = append([]load.Outcome(nil), outs...)
	r = Check(lost)
	if r.LostOrders != 120 || r.RPOOrders != 30 {
		t.Fatalf("lost %d, rpo_orders %d: want 120 lost (no store holds any), 30 of them in the outage", r.LostOrders, r.RPOOrders)
	}

	// Never recovering: no RTO, and the outage says so.
	for i := 30; i < 120; i++ {
		outs[i].AnsweredBy = "capture"
	}
	r = Check(ev)
	if r.RTOS != nil || r.Outages[0].Recovered {
		t.Fatalf("rto_s = %v, recovered %v; want null and false", r.RTOS, r.Outages[0].Recovered)
	}
}

// TestQueueMeanCI95: queue times drawn independently (exponential, mean
// 100 ms) give a batch-means interval close to 1.96 σ/√n, and a run too
// short for batches gives none.
func TestQueueMeanCI95(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []wire.DynoRecord
	const n = 20000
	for i := range n {
		q := time.Duration(rng.ExpFloat64() * float64(100*time.Millisecond))
		recs = append(recs, wire.DynoRecord{Dyno: "dyno-1", Arrived: t0.Add(time.Duration(i) * time.Millisecond), Queued: q, Outcome: wire.StateCharged})
	}
	q := queueTimes(recs, 1)
	want := 1.96 * 100 / math.Sqrt(n) // σ of an exponential is its mean
	if q.MeanCI95 < want*0.6 || q.MeanCI95 > want*1.4 {
		t.Errorf("mean %.1f ± %.2f ms; want ± about %.2f", q.Mean, q.MeanCI95, want)
	}
	if math.Abs(q.Mean-100) > 3*want {
		t.Errorf("mean %.1f ms; want about 100", q.Mean)
	}
	if short := queueTimes(recs[:300], 1); short.MeanCI95 != 0 {
		t.Errorf("300 orders: ± %.2f; want no interval", short.MeanCI95)
	}
}
