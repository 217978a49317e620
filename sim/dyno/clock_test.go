package dyno_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"paydrill/sim/dyno"
	"paydrill/sim/service"
	"paydrill/sim/simtest"
	"paydrill/sim/wire"
)

// A worker's model clock: an order that waited starts exactly when the
// order before it on that worker ended (its arrival + queue + busy time),
// however late the machine woke the waiting order up (Go's timers fire up
// to a millisecond late). Records carry wall-clock times and monotonic
// durations, which may drift apart by nanoseconds: 1 µs is "exactly".
func TestQueuedOrdersStartWhenThePreviousEnded(t *testing.T) {
	const service, orders = 15 * time.Millisecond, 12
	b := simtest.StartBackend(t, 0)
	_, srv := simtest.StartDyno(t, b, func(c *dyno.Config) { c.Workers, c.ServiceTime = 2, simtest.ConstSecs(service) })
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("burst-%d", i)
			if a := simtest.PostOrder(srv.URL(), id, simtest.Order(id, 1000)); a.Status != http.StatusCreated {
				t.Errorf("order %d: %d %s %v", i, a.Status, a.Body, a.Err)
			}
		}()
	}
	wg.Wait()
	recs := simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport)
	if len(recs) != orders {
		t.Fatalf("%d records, want %d", len(recs), orders)
	}
	start := func(r wire.DynoRecord) time.Time { return r.Arrived.Add(r.Queued) }
	slices.SortFunc(recs, func(a, b wire.DynoRecord) int { return start(a).Compare(start(b)) })
	// The two workers' ends so far, in the model.
	var ends []time.Time
	queued := 0
	for i, r := range recs {
		// Service + gateway, or the work's own time when that was longer
		// (a cold connection, the race detector).
		if r.Busy < r.Service+r.Gateway {
			t.Errorf("order %d held its worker %s, want at least service %s + gateway %s", i, r.Busy, r.Service, r.Gateway)
		}
		if r.Queued > 0 {
			queued++
			// It took the worker that ended first, at that very moment.
			if len(ends) < 2 || start(r).Sub(ends[0]).Abs() > time.Microsecond {
				t.Errorf("order %d waited %s and started at %s, want the end of the earliest busy worker (%v)",
					i, r.Queued, start(r).Format(time.StampNano), ends)
			}
			ends = ends[1:]
		}
		ends = append(ends, start(r).Add(r.Busy))
		slices.SortFunc(ends, time.Time.Compare)
	}
	if queued < orders-4 {
		t.Fatalf("%d of %d orders waited, want nearly all: they were sent at once to 2 workers", queued, orders)
	}
}

// The gateway's reported overhead is not held as modelled time.
func TestGatewayOverheadIsNotHeld(t *testing.T) {
	const sleep, overhead = 40 * time.Millisecond, 30 * time.Millisecond
	gw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(sleep)
		w.Header().Set(wire.HeaderOverhead, strconv.FormatInt(int64(overhead), 10))
		service.WriteJSON(w, http.StatusCreated, wire.Charge{ID: "ch_1"})
	})
	b := simtest.StartBackend(t, 0)
	b.Gateway = simtest.Serve(t, gw)
	_, srv := simtest.StartDyno(t, b, nil)
	if a := simtest.PostOrder(srv.URL(), "slow-gateway", simtest.Order("slow-gateway", 500)); a.Status != http.StatusCreated {
		t.Fatalf("order: %d %s %v", a.Status, a.Body, a.Err)
	}
	recs := simtest.Fetch[wire.DynoRecord](t, srv.URL()+wire.PathExport)
	// Waited at least 40 ms, of which the gateway said 30 were overhead.
	if len(recs) != 1 || recs[0].Gateway < sleep-overhead || recs[0].Gateway >= overhead {
		t.Fatalf("records %+v: want a gateway wait of about %s (%s less %s)", recs, sleep-overhead, sleep, overhead)
	}
}
