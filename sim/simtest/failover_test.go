package simtest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"paydrill/sim/dyno"
	"paydrill/sim/wire"
)

// The talk's everyday failover: production is slower than the edge's
// failover timeout, so the customer is answered by capture while
// production goes on and charges the order. The replay then sends the
// same order (same request id) to production again: with claim or check
// it is a duplicate and the customer is charged once; with dedupe off the
// customer is charged twice.
func TestSlowProductionFailsOverAndReplayDedupes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		dedupe      string
		inProgress  bool // replay while production is still on the original
		wantCharges int
	}{
		{"claim", dyno.DedupeClaim, false, 1},
		{"check", dyno.DedupeCheck, false, 1},
		{"off", dyno.DedupeOff, false, 2},
		{"claim while in progress", dyno.DedupeClaim, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := startSystem(t, settings{
				dynos: 1, workers: 2, backlog: 10, service: 400 * time.Millisecond,
				dedupe: tc.dedupe, strategy: "random", failover: 100 * time.Millisecond,
			})
			o := wire.Order{Reference: "ord-1", Customer: "cus-1", AmountCents: 2500, CardToken: "tok-1"}
			a, err := postOrder(http.DefaultClient, sys.edge.URL(), "", o)
			if err != nil {
				t.Fatal(err)
			}
			id := a.header.Get(wire.HeaderRequestID)
			if a.status != http.StatusCreated || a.header.Get(wire.HeaderAnsweredBy) != wire.AnsweredByCapture || id == "" {
				t.Fatalf("client got %d answered by %q (id %q): %s; want 201 by capture",
					a.status, a.header.Get(wire.HeaderAnsweredBy), id, a.body)
			}
			var ans wire.OrderAnswer
			if err := json.Unmarshal(a.body, &ans); err != nil || ans.RequestID != id || ans.Status != "accepted" {
				t.Errorf("answer %s, want the order accepted under %s", a.body, id)
			}

			if tc.inProgress {
				// The original holds the claim but its worker is still busy.
				Eventually(t, 5*time.Second, "the original claimed in the db", func() bool {
					_, ok := sys.order(t, id)
					return ok
				})
				if _, done := sys.dynoRecord(t, id, false); done {
					t.Fatal("the original finished before the replay: the test lost its race")
				}
			} else {
				Eventually(t, 5*time.Second, "the original finished by production", func() bool {
					_, ok := sys.dynoRecord(t, id, false)
					return ok
				})
			}

			sys.replayPass(t)
			attempts := Fetch[wire.ReplayRecord](t, sys.replayer.URL()+wire.PathExport)
			if len(attempts) != 1 || attempts[0].RequestID != id || attempts[0].Outcome != wire.ReplayDuplicate {
				t.Errorf("replay attempts %+v, want one duplicate of %s", attempts, id)
			}
			if got := len(sys.charges(t, "ord-1")); got != tc.wantCharges {
				t.Errorf("the gateway charged the order %d times, want %d", got, tc.wantCharges)
			}
			Eventually(t, 5*time.Second, "the original finished by production", func() bool {
				_, ok := sys.dynoRecord(t, id, false)
				return ok
			})
			orig, _ := sys.dynoRecord(t, id, false)
			replay, ok := sys.dynoRecord(t, id, true)
			if orig.Outcome != wire.StateCharged || !ok || replay.Outcome != dyno.OutcomeDuplicate {
				t.Errorf("production's records: original %+v, replay %+v", orig, replay)
			}
			if rec, ok := sys.order(t, id); !ok || rec.State != wire.StateCharged || rec.Replay {
				t.Errorf("db holds %+v (found %v), want the original, charged", rec, ok)
			}
		})
	}
}
