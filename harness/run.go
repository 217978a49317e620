package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"paydrill/harness/checker"
	"paydrill/harness/exit"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"paydrill/scenarios"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// Options are how one run is carried out, beside its plan.
type Options struct {
	Runtime  system.Runtime
	Dir      string    // the run's directory: results, stores, exports
	Progress io.Writer // nil: silent
	// AbortIf are stop conditions, checked on the evidence so far about
	// every second while the load runs: when one holds the load ends
	// early, and the result says so (harness.aborted).
	AbortIf []scenarios.Expectation
	// Evidence, when not nil, receives what the checker was given, so
	// that windowed expectations can check part of the run again.
	Evidence *checker.Evidence
	// KeepSpeed runs a scenario at its speed even when the runtime has a
	// lower SpeedLimit (see RunScenario): the user chose the speed.
	KeepSpeed bool
	// ProxyAll puts every link through toxiproxy, not only the ones a
	// fault names (--proxy-all).
	ProxyAll bool
	// Calibrator measures the machine for speed: auto; nil measures
	// afresh for this run. A suite or a sweep shares one.
	Calibrator *Calibrator
	// Allow lets a run that did not settle, or that the harness could
	// not keep up with, pass on its expectations (see checker.Trust).
	Allow checker.Allow
}

// speedLimiter is a runtime that cannot keep the model above a speed.
type speedLimiter interface{ SpeedLimit() float64 }

// Run boots the system, schedules the faults, drives the load, lets the
// system settle, and checks every order. The result has no expectations
// evaluated yet: that is the caller's, who knows the scenario.
func Run(ctx context.Context, p *Plan, opt Options) (_ *result.Result, err error) {
	wallStart := time.Now()
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, exit.CannotRun(err)
	}
	// A directory used before holds that run's stores and exports: the
	// system starts from empty stores, and the checker must not read an
	// old run's export, so they go.
	for _, d := range []string{"stores", checker.ExportsDir} {
		if err := os.RemoveAll(filepath.Join(opt.Dir, d)); err != nil {
			return nil, exit.CannotRun(err)
		}
	}
	// A fault the runtime cannot apply, or redundancy it cannot honour,
	// is bad input, found before anything starts (RunScenario has said so
	// naming the scenario's keys; a plan built in code is checked here).
	for _, f := range p.Faults {
		if !opt.Runtime.Supports(f.Toxic) {
			return nil, exit.BadInput(fmt.Errorf("fault %d (%s on %s): %s", f.Index, f.Toxic, f.Link, unsupported(opt.Runtime.Name(), f.Toxic)))
		}
	}
	if p.Redundancy != (topology.Redundancy{}) && !opt.Runtime.Supports(system.FeatureRedundancy) {
		return nil, exit.BadInput(fmt.Errorf("system.dynos: the %s runtime does not place the dynos on nodes, so it cannot honour the "+
			"redundancy settings (zones, spread, limits, probes, disruption_budget); it needs --runtime kubernetes", opt.Runtime.Name()))
	}
	if p.HasStandby() && !opt.Runtime.Supports(system.FeatureStandby) {
		return nil, exit.BadInput(fmt.Errorf("system.regions.standby: the %s runtime cannot run a standby region yet; use --runtime embedded",
			opt.Runtime.Name()))
	}
	sys, err := opt.Runtime.Start(ctx, p.Topology(), opt.Dir)
	if err != nil {
		return nil, exit.CannotRun(fmt.Errorf("boot: %w", err))
	}
	defer func() {
		// Closing keeps the stores in the run's directory (the embedded
		// runtime copies them from memory): a run that could not has lost
		// what it promised to leave.
		if cerr := sys.Close(); errors.Is(cerr, system.ErrStoresNotKept) && err == nil {
			err = exit.CannotRun(cerr)
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	if err := WaitHealthy(ctx, client, sys); err != nil {
		return nil, exit.CannotRun(err)
	}

	results, err := os.Create(filepath.Join(opt.Dir, "results.ndjson"))
	if err != nil {
		return nil, exit.CannotRun(err)
	}
	defer results.Close()
	sentLog, err := os.Create(filepath.Join(opt.Dir, "orders.ndjson"))
	if err != nil {
		return nil, exit.CannotRun(err)
	}
	defer sentLog.Close()
	proxied := p.Proxied() // sorted; once, as each call builds the plan's links
	traffic := &load.Run{
		Plan:      p.Load,
		Edge:      sys.Edge,
		Ctx:       ctx,
		SystemFDs: systemFDs(p.Dynos, p.Dyno.Workers, func(i int) bool { _, ok := slices.BinarySearch(proxied, topology.DynoLink(i)); return ok }),
		Orders:    load.OrderSource{Seed: p.Load.Seed, Customers: p.Load.Customers, Amount: p.Load.Amount},
		Results:   results,
		SentLog:   sentLog,
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	sched := fault.NewScheduler(sys, p.Faults)
	defer func() {
		// Whatever ended the run, a Kubernetes fault still in force is
		// lifted before the system closes: nodes are the cluster's.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		sched.Heal(hctx)
	}()
	sched.Prime(runCtx)
	began := time.Now()
	var bg sync.WaitGroup
	schedCtx, stopSched := context.WithCancel(runCtx)
	defer stopSched()
	schedDone := make(chan struct{})
	bg.Add(1)
	go func() { defer bg.Done(); defer close(schedDone); sched.Run(schedCtx, began, p.Load.Total()) }()
	lag := &lagMeter{}
	bg.Add(1)
	go func() { defer bg.Done(); lag.run(runCtx) }()
	if p.ReplayAt > 0 {
		bg.Add(1)
		go func() { defer bg.Done(); replayAt(runCtx, client, sys, began.Add(p.ReplayAt)) }()
	}
	if opt.Progress != nil {
		bg.Add(1)
		go func() { defer bg.Done(); progress(runCtx, opt.Progress, p, traffic, began) }()
	}

	watch := startAbortWatch(runCtx, opt.AbortIf, client, sys, traffic, sched, p, began)
	drillCtx, stopDrill := context.WithCancel(runCtx)
	defer stopDrill()
	dr := startDrill(drillCtx, p, sys, opt.Dir, began)
	if dr != nil {
		defer func() { stopDrill(); dr.Stop() }() // on every return, before the system closes
	}

	span, err := traffic.Attack(began)
	loadWall := time.Since(began)
	abortedBy := watch.stop()
	if abortedBy != "" {
		stopSched() // the faults still to come never will
		<-schedDone
	}
	if err != nil {
		stop()
		bg.Wait()
		return nil, exit.CannotRun(fmt.Errorf("load: %w", err))
	}
	if ctx.Err() != nil {
		stop()
		bg.Wait()
		return nil, exit.CannotRun(fmt.Errorf("interrupted: %w", ctx.Err()))
	}
	// Faults without an end last as long as the load; lift them all.
	if err := sys.Links.Heal(); err != nil {
		stop()
		bg.Wait()
		return nil, exit.CannotRun(fmt.Errorf("healing links: %w", err))
	}
	sched.Heal(ctx) // and the Kubernetes faults (their errors go to their windows)
	settled, pending := settle(ctx, client, sys, p, opt.Progress)
	stop()
	bg.Wait()
	var regions *checker.RegionEvidence
	if dr != nil {
		regions = regionEvidence(p, dr.Stop(), activeRegion(ctx, client, sys))
	}

	ev, err := collect(ctx, client, sys, opt.Dir, regions, p.StandbyDynos)
	if err != nil {
		return nil, exit.CannotRun(fmt.Errorf("collecting stores: %w", err))
	}
	ev.Orders, ev.Outcomes = traffic.SoFar()
	ev.Faults = sched.Windows()
	if abortedBy != "" {
		ev.Faults = appliedFaults(ev.Faults, loadWall)
	}
	for i := range ev.Faults {
		if ev.Faults[i].End == 0 {
			ev.Faults[i].End = loadWall
		}
	}
	ev.Began, ev.LoadWall, ev.Speed, ev.RTOWindow = began, loadWall, p.Speed, p.RTOWindow
	r := checker.Check(ev)

	r.Scenario, r.Runtime, r.Seed, r.Speed = p.Name, opt.Runtime.Name(), p.Seed, p.Speed
	r.ModelDurationS = p.Load.Total().Seconds() * p.Speed
	r.OutDir = opt.Dir
	r.Harness = health(p, traffic, span, lag, ev.Faults)
	r.Harness.ProxiedLinks = ProxiedSummary(proxied, p.Dynos)
	queueDistortion(&r.Harness, ev.Dynos, p.Dyno.Workers, p.Speed, plannedSends(p.Load, ev.Outcomes, began))
	r.Harness.Settled = settled
	if !settled {
		r.Harness.Notes = append(r.Harness.Notes, "did not settle within the settle timeout: "+pending)
	}
	if abortedBy != "" {
		markAborted(&r, abortedBy, loadWall, p.Speed)
	}
	r.Harness.WallS = time.Since(wallStart).Seconds()
	if opt.Evidence != nil {
		*opt.Evidence = ev
	}
	return &r, nil
}

// WaitHealthy polls every component's /healthz until all answer 200.
func WaitHealthy(ctx context.Context, client *http.Client, sys *system.System) error {
	return sys.WaitHealthy(ctx, client, sys.Names(), 60*time.Second)
}

func replayAt(ctx context.Context, client *http.Client, sys *system.System, at time.Time) {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	triggerReplay(client, sys)
}

func triggerReplay(client *http.Client, sys *system.System) {
	resp, err := client.Post(sys.URL(topology.RoleReplayer)+wire.PathReplay, "application/json", nil)
	if err == nil {
		resp.Body.Close()
	}
}

// settle waits until replays and reconciliation are done and have stayed
// done for the quiet period, or the settle timeout passes. It says what was
// still pending when it gave up. A replay scheduled after the load's end is
// still triggered meanwhile (its timer runs until settle returns).
func settle(ctx context.Context, client *http.Client, sys *system.System, p *Plan, w io.Writer) (bool, string) {
	deadline := time.Now().Add(p.SettleTimeout)
	var quietSince time.Time
	for {
		pending := pendingWork(ctx, client, sys, p)
		now := time.Now()
		if pending == "" {
			if quietSince.IsZero() {
				quietSince = now
			}
			if now.Sub(quietSince) >= p.SettleQuiet {
				return true, ""
			}
		} else {
			quietSince = time.Time{}
		}
		if now.After(deadline) || ctx.Err() != nil {
			return false, pending
		}
		if w != nil && pending != "" {
			fmt.Fprintf(w, "\rsettling: %s%s", pending, strings.Repeat(" ", 10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pendingWork says what is left to replay or reconcile, "" when nothing.
func pendingWork(ctx context.Context, client *http.Client, sys *system.System, p *Plan) string {
	var parts []string
	if p.Replayer.Mode != "manual" {
		captured, err1 := service.Fetch[wire.CapturedRequest](ctx, client, sys.URL(topology.RoleCapture)+wire.PathExport)
		replays, err2 := service.Fetch[wire.ReplayRecord](ctx, client, sys.URL(topology.RoleReplayer)+wire.PathExport)
		if err := errors.Join(err1, err2); err != nil {
			return "replay status unknown: " + err.Error()
		}
		if n := checker.ReplayProgress(checker.Evidence{Captured: captured, Replays: replays}).Pending; n > 0 {
			parts = append(parts, fmt.Sprintf("%d orders to replay", n))
		}
	}
	orders, err := service.Fetch[wire.OrderRecord](ctx, client, sys.URL(activeDB(ctx, client, sys))+wire.PathExport)
	if err != nil {
		return "reconcile status unknown: " + err.Error()
	}
	if n := checker.ReconcileProgress(checker.Evidence{DB: orders}).Pending; n > 0 {
		parts = append(parts, fmt.Sprintf("%d orders to reconcile", n))
	}
	return strings.Join(parts, ", ")
}

// collect reads every store through its export and keeps a copy of each in
// the run's directory. With a standby region (regions not nil) it reads
// both regions' dbs, the gslb and the standby's dynos (standbyDynos of
// them, once provisioned) too, and takes the final store from the region
// active at the end.
func collect(ctx context.Context, client *http.Client, sys *system.System, dir string,
	regions *checker.RegionEvidence, standbyDynos int) (checker.Evidence, error) {
	var ev checker.Evidence
	exports := filepath.Join(dir, "exports")
	if err := os.MkdirAll(exports, 0o755); err != nil {
		return ev, err
	}
	var errs []error
	get := func(role string, into func(io.Reader) error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sys.URL(role)+wire.PathExport, nil)
		if err != nil {
			errs = append(errs, err)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", role, err))
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(exports, checker.RegionExport(role)+".ndjson"))
		if err != nil {
			errs = append(errs, err)
			return
		}
		defer f.Close()
		if err := into(io.TeeReader(resp.Body, f)); err != nil {
			errs = append(errs, fmt.Errorf("%s export: %w", role, err))
		}
	}
	read := func(dst any) func(io.Reader) error {
		return func(r io.Reader) (err error) {
			switch d := dst.(type) {
			case *[]wire.Charge:
				*d, err = service.ReadNDJSON[wire.Charge](r)
			case *[]wire.OrderRecord:
				*d, err = service.ReadNDJSON[wire.OrderRecord](r)
			case *[]wire.CapturedRequest:
				*d, err = service.ReadNDJSON[wire.CapturedRequest](r)
			case *[]wire.EdgeRecord:
				*d, err = service.ReadNDJSON[wire.EdgeRecord](r)
			case *[]wire.ReplayRecord:
				*d, err = service.ReadNDJSON[wire.ReplayRecord](r)
			case *[]wire.ReconcileRecord:
				*d, err = service.ReadNDJSON[wire.ReconcileRecord](r)
			case *[]wire.GSLBEvent:
				*d, err = service.ReadNDJSON[wire.GSLBEvent](r)
			case *[]wire.DynoRecord:
				var recs []wire.DynoRecord
				recs, err = service.ReadNDJSON[wire.DynoRecord](r)
				*d = append(*d, recs...)
			}
			return err
		}
	}
	get(topology.RoleGateway, read(&ev.Ledger))
	var primaryDB, standbyOrders, beforeFailback []wire.OrderRecord
	standbyExists := false
	get(topology.RoleDB, read(&primaryDB))
	get(topology.RoleCapture, read(&ev.Captured))
	get(topology.RoleEdge, read(&ev.Edge))
	get(topology.RoleReplayer, read(&ev.Replays))
	get(topology.RoleReconciler, read(&ev.Reconciles))
	for i := 1; i <= sys.Dynos; i++ {
		get(topology.DynoName(i), read(&ev.Dynos))
	}
	if regions != nil {
		ev.Regions = regions
		get(topology.RoleGSLB, read(&regions.GSLB))
		if sys.URL(standbyDB) != "" {
			standbyExists = true
			get(standbyDB, read(&standbyOrders))
		}
		for i := 1; i <= standbyDynos; i++ {
			name := topology.InRegion(topology.RegionStandby, topology.DynoName(i))
			if sys.URL(name) == "" {
				break // not provisioned
			}
			get(name, read(&ev.Dynos))
			ev.StandbyDynos = i
		}
		if f, err := os.Open(filepath.Join(exports, checker.BeforeFailbackExport+".ndjson")); err == nil {
			beforeFailback, err = service.ReadNDJSON[wire.OrderRecord](f)
			f.Close()
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	ev.AssembleRegions(primaryDB, standbyOrders, standbyExists, beforeFailback)
	sort.Slice(ev.Ledger, func(i, j int) bool { return ev.Ledger[i].CreatedAt.Before(ev.Ledger[j].CreatedAt) })
	return ev, errors.Join(errs...)
}
