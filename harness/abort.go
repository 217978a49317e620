package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"paydrill/harness/checker"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// abortEvery is how often, in wall time, the stop conditions are checked
// while the load runs.
var abortEvery = time.Second

// abortWatch checks a run's stop conditions (the scenario's abort_if) on
// the evidence so far while the load runs, and ends the load when one
// holds: every abortEvery it reads every store, joins them with the
// answers the client has had so far and runs the checker, as at the end.
type abortWatch struct {
	conds   []scenarios.Expectation
	client  *http.Client
	sys     *system.System
	traffic *load.Run
	sched   *fault.Scheduler
	plan    *Plan
	began   time.Time

	cancel context.CancelFunc
	done   chan struct{}
	reason string // why the load was ended; written before done closes
}

// startAbortWatch starts watching conds (none: it does nothing and its
// stop returns ""). It arms load.Halt, so it must run before the load.
func startAbortWatch(ctx context.Context, conds []scenarios.Expectation, client *http.Client, sys *system.System,
	traffic *load.Run, sched *fault.Scheduler, p *Plan, began time.Time) *abortWatch {
	if len(conds) == 0 {
		return nil
	}
	a := &abortWatch{conds: conds, client: client, sys: sys, traffic: traffic, sched: sched, plan: p, began: began,
		done: make(chan struct{})}
	traffic.Halt = make(chan struct{})
	ctx, a.cancel = context.WithCancel(ctx)
	go a.run(ctx)
	return a
}

func (a *abortWatch) run(ctx context.Context) {
	defer close(a.done)
	tick := time.NewTicker(abortEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if reason := a.check(ctx); reason != "" {
			a.reason = reason
			close(a.traffic.Halt)
			return
		}
	}
}

// stop ends the watch and returns why it ended the load, "" when it did
// not. It is safe on a nil watch.
func (a *abortWatch) stop() string {
	if a == nil {
		return ""
	}
	a.cancel()
	<-a.done
	return a.reason
}

// check runs the checker on the evidence so far and returns the first
// stop condition that holds, described for a person; "" when none does, or
// when the stores could not be read this time.
func (a *abortWatch) check(ctx context.Context) string {
	ev, err := snapshot(ctx, a.client, a.sys)
	if err != nil {
		return ""
	}
	elapsed := time.Since(a.began)
	ev.Orders, ev.Outcomes = a.traffic.SoFar()
	ev.Faults = appliedFaults(a.sched.Windows(), elapsed)
	ev.Began, ev.LoadWall, ev.Speed, ev.RTOWindow = a.began, elapsed, a.plan.Speed, a.plan.RTOWindow
	r := checker.Check(ev)
	r.Seed, r.Speed, r.ModelDurationS = a.plan.Seed, a.plan.Speed, elapsed.Seconds()*a.plan.Speed
	for _, c := range a.conds {
		if v, ok := r.Lookup(c.Key); ok && c.Eval(v, true) {
			return fmt.Sprintf("abort_if %s held after %.1fs of model time (%s was %s, with %d orders answered)",
				c, r.ModelDurationS, c.Key, strconv.FormatFloat(v, 'g', 6, 64), len(ev.Outcomes))
		}
	}
	return ""
}

// appliedFaults keeps the faults applied so far, those still in force
// ending now.
func appliedFaults(ws []fault.Window, now time.Duration) []fault.Window {
	var out []fault.Window
	for _, w := range ws {
		if w.Start == 0 && w.Fault.At > 0 {
			continue // not applied yet (faults at 0 are applied before the load)
		}
		if w.End == 0 {
			w.End = now
		}
		out = append(out, w)
	}
	return out
}

// snapshot reads what the checker needs from every store, keeping no copy.
func snapshot(ctx context.Context, client *http.Client, sys *system.System) (checker.Evidence, error) {
	var ev checker.Evidence
	url := func(role string) string { return sys.URL(role) + wire.PathExport }
	var errs [5]error
	ev.Ledger, errs[0] = service.Fetch[wire.Charge](ctx, client, url(topology.RoleGateway))
	ev.DB, errs[1] = service.Fetch[wire.OrderRecord](ctx, client, url(topology.RoleDB))
	ev.Captured, errs[2] = service.Fetch[wire.CapturedRequest](ctx, client, url(topology.RoleCapture))
	ev.Edge, errs[3] = service.Fetch[wire.EdgeRecord](ctx, client, url(topology.RoleEdge))
	for i := 1; i <= sys.Dynos && errs[4] == nil; i++ {
		var recs []wire.DynoRecord
		recs, errs[4] = service.Fetch[wire.DynoRecord](ctx, client, url(topology.DynoName(i)))
		ev.Dynos = append(ev.Dynos, recs...)
	}
	return ev, errors.Join(errs[:]...)
}

// markAborted records in r that a stop condition ended the load after
// loadWall: the run's model duration is what actually ran.
func markAborted(r *result.Result, reason string, loadWall time.Duration, speed float64) {
	r.Harness.Aborted, r.Harness.AbortReason = true, reason
	r.Harness.Notes = append(r.Harness.Notes, "aborted early: "+reason)
	r.ModelDurationS = loadWall.Seconds() * speed
}
