package harness

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"paydrill/harness/checker"
	"paydrill/harness/exit"
	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/topology"
	"sort"
	"time"

	"paydrill/scenarios"
	"paydrill/sim/wire"
)

// exactGatewayLink says no fault of s slows the dynos' link to the
// gateway, so a charge's modelled wait is the latency the gateway sampled.
func exactGatewayLink(s *scenarios.Scenario) bool {
	for _, f := range s.Faults {
		if k, _ := scenarios.LookupFaultKind(f.Toxic); f.Link == "dyno->gateway" && k.Slows {
			return false
		}
	}
	return true
}

// NewPlan translates a valid scenario into wall-clock time: every duration
// divided by speed, every rate multiplied by it.
func NewPlan(s *scenarios.Scenario, runID string) (*Plan, error) {
	if s.Speed <= 0 {
		return nil, exit.BadInput(fmt.Errorf("speed must be greater than 0"))
	}
	sp := s.Speed
	wall := func(d time.Duration) time.Duration { return time.Duration(float64(d) / sp) }
	wd := func(d time.Duration) wire.Duration { return wire.Duration(wall(d)) }
	sys := s.System

	p := &Plan{
		Name: s.Name, RunID: runID, Seed: s.Seed, Speed: sp,
		Duration: wall(s.Duration), Dynos: sys.Dynos.Count,
		SettleTimeout: wall(s.Settle.Timeout), SettleQuiet: wall(s.Settle.Quiet),
		RTOWindow: s.RTOWindow,
	}

	p.Configs = topology.DefaultConfigs()
	p.Edge.FailoverTimeout = wd(sys.Edge.FailoverTimeout)
	p.Edge.CaptureTimeout = wd(p.Edge.CaptureTimeout.D())

	p.Router.Strategy, p.Router.Timeout = sys.Router.Strategy, wd(sys.Router.Timeout)

	p.Dyno.Workers, p.Dyno.Backlog = sys.Dynos.Workers, sys.Dynos.Backlog
	p.Dyno.ServiceTime = sys.Dynos.ServiceTime.Spec().Scaled(1 / sp)
	p.Dyno.GatewayTimeout = wd(sys.App.GatewayTimeout)
	p.Dyno.RiskLimitCents, p.Dyno.Dedupe = sys.App.RiskLimit, sys.App.Dedupe
	p.Dyno.ExactGatewayLink = exactGatewayLink(s)
	p.Redundancy = redundancy(sys.Dynos, wall)

	p.Gateway.Latency = sys.Gateway.Latency.Spec().Scaled(1 / sp)
	p.Gateway.Idempotency = sys.Gateway.Idempotency

	p.Capture.RiskLimitCents = sys.App.RiskLimit
	p.Capture.Ack, p.Capture.Flush = sys.Capture.Ack, wd(sys.Capture.Flush)

	p.Replayer.Mode = sys.Replayer.Mode
	if sys.Replayer.Mode == "at" {
		p.Replayer.Mode = "manual"
		p.ReplayAt = max(wall(sys.Replayer.At), time.Nanosecond)
	}
	p.Replayer.Rate = sys.Replayer.Rate * sp
	p.Replayer.Interval = wd(p.Replayer.Interval.D())
	p.Replayer.Timeout = wd(p.Replayer.Timeout.D())

	p.Reconciler.Interval = wd(sys.Reconciler.Interval)
	p.Reconciler.Match, p.Reconciler.Window = sys.Reconciler.Match, wd(sys.Reconciler.Window)
	p.Reconciler.Timeout = wd(sys.App.GatewayTimeout)

	if s.HasStandby() {
		sb := sys.Regions.Standby
		p.Standby = topology.Standby{Mode: sb.Mode, Dynos: sb.Dynos, ReplicationLag: wd(sb.ReplicationLag)}
		// The replica asks often enough that polling adds little to the
		// lag (a quarter of it at most), and no more than the db needs.
		p.DB.PollInterval = wire.Duration(min(50*time.Millisecond, max(10*time.Millisecond, wall(sb.ReplicationLag)/4)))
		if sb.Mode == "cold" {
			p.Standby.Restore = BackupFile
			p.BackupEvery = wall(sb.BackupInterval)
		}
		g := sys.GSLB
		p.GSLB.Mode, p.GSLB.Interval, p.GSLB.Failures, p.GSLB.TTL = g.Mode, wd(g.Interval), g.Failures, wd(g.TTL)
		p.GSLB.CheckTimeout = wire.Duration(min(wall(g.Interval), p.GSLB.CheckTimeout.D()))
		p.Regions, p.Drill, p.StandbyDynos = sys.Regions, s.Drill, cmp.Or(sb.Dynos, sys.Dynos.Count)
	}

	amount, err := s.Load.Amount.Spec().Dist()
	if err != nil {
		return nil, exit.BadInput(fmt.Errorf("load.amount: %w", err))
	}
	p.Load = load.Plan{
		Stages:    stages(s, sp),
		Timeout:   wall(s.Load.Timeout),
		Customers: s.Load.Customers,
		Amount:    amount,
		Seed:      s.Seed,
		Arrivals:  s.Load.Arrivals,
	}
	for i, f := range s.Faults {
		fp := fault.Plan{
			Index: i + 1, Name: f.Name, Link: f.Link, Toxic: f.Toxic, Stream: f.Stream,
			At: wall(f.At), For: wall(f.For), Attributes: map[string]int64{},
		}
		if f.Target != "" {
			fp.Link = f.Target
		}
		if f.Region != "" {
			fp.Link = "region:" + f.Region
		}
		if f.IsKubernetes() {
			fp.Zone, fp.Replicas = f.Zone, f.Replicas
			if f.Target == "" && f.Zone != "" {
				fp.Link = fault.ZonePrefix + f.Zone
			}
		}
		for k, v := range f.Attributes {
			fp.Attributes[k] = v
		}
		// Durations shrink with speed (never to 0, which means "none" to
		// toxiproxy), and bandwidths grow with it.
		kind, _ := scenarios.LookupFaultKind(f.Toxic)
		for _, a := range kind.Attrs {
			v, ok := fp.Attributes[a.Name]
			switch {
			case !ok:
			case a.IsDuration() && v > 0:
				fp.Attributes[a.Name] = max(1, int64(math.Round(float64(v)/sp)))
			case a.Unit == scenarios.UnitKBps:
				fp.Attributes[a.Name] = int64(math.Round(float64(v) * sp))
			}
		}
		p.Faults = append(p.Faults, fp)
	}
	return p, nil
}

// redundancy is the dynos' redundancy settings in wall time (the probes'
// periods divided by the speed, never to 0, which would mean no probe);
// spread none is "", so a scenario asking for nothing has the zero value.
func redundancy(d scenarios.Dynos, wall func(time.Duration) time.Duration) topology.Redundancy {
	probe := func(p scenarios.Probe) topology.Probe {
		if p == (scenarios.Probe{}) {
			return topology.Probe{}
		}
		return topology.Probe{Period: wire.Duration(max(wall(p.Period), time.Nanosecond)), Failures: p.Failures}
	}
	r := topology.Redundancy{
		Zones: d.Zones, Spread: d.Spread, CPU: d.Limits.CPU, Memory: d.Limits.Memory,
		Readiness: probe(d.Probes.Readiness), Liveness: probe(d.Probes.Liveness),
		MinAvailable: d.DisruptionBudget.MinAvailable,
	}
	if r.Spread == "none" {
		r.Spread = ""
	}
	return r
}

// stages turns the load's rate and ramps into wall-clock stages covering
// the whole duration: each ramp from the previous rate to its own, then the
// last rate held until the end.
func stages(s *scenarios.Scenario, sp float64) []load.Stage {
	wall := func(d time.Duration) time.Duration { return time.Duration(float64(d) / sp) }
	rate := s.Load.Rate
	left := s.Duration
	var out []load.Stage
	for _, st := range s.Load.Stages {
		d := min(st.Duration, left)
		if d <= 0 {
			break
		}
		out = append(out, load.Stage{Duration: wall(d), From: rate * sp, To: st.Rate * sp})
		rate, left = st.Rate, left-d
	}
	if left > 0 {
		out = append(out, load.Stage{Duration: wall(left), From: rate * sp, To: rate * sp})
	}
	return out
}

// Evaluate judges every expectation against the result and sets the
// verdict. It has no evidence, so windowed expectations fail: RunScenario
// judges them (see Judge).
func Evaluate(r *result.Result, exps []scenarios.Expectation) { checker.Judge(r, nil, exps) }

// RunScenario plans, runs and judges one scenario.
//
// What the runtime cannot run is refused first, naming the scenario's
// keys (CheckRuntime).
//
// A scenario with speed: auto runs at the speed AutoSpeed picks for this
// machine (measured through opt.Calibrator), at most the runtime's
// SpeedLimit; the result says which and why (harness.speed_auto). A
// runtime with a SpeedLimit (docker) runs a scenario whose own speed is
// higher at that limit instead, and the result's notes say so, unless
// opt.KeepSpeed.
func RunScenario(ctx context.Context, s *scenarios.Scenario, runID string, opt Options) (*result.Result, error) {
	if sim, ok := opt.Runtime.(Simulator); ok {
		return simulate(ctx, sim, s, opt) // which refuses what it does not simulate (model.Refuse)
	}
	if err := CheckRuntime(s, opt.Runtime); err != nil {
		return nil, err
	}
	var note string
	var choice *result.SpeedChoice
	lim, limited := opt.Runtime.(speedLimiter)
	switch {
	case s.AutoSpeed():
		limit := 0.0
		if limited {
			limit = lim.SpeedLimit()
		}
		c, err := chooseSpeed(ctx, s, opt, limit)
		if err != nil {
			return nil, err
		}
		choice, note = &c, c.Why
		chosen := *s
		chosen.Speed = c.Speed
		s = &chosen
	case limited && !opt.KeepSpeed && s.Speed > lim.SpeedLimit():
		slower := *s
		slower.Speed = lim.SpeedLimit()
		note = fmt.Sprintf("ran at speed %g, not the scenario's %g: the %s runtime's hops are too slow for more "+
			"(pass --speed to insist)", slower.Speed, s.Speed, opt.Runtime.Name())
		s = &slower
	}
	if note != "" && opt.Progress != nil {
		fmt.Fprintln(opt.Progress, note)
	}
	p, err := NewPlan(s, runID)
	if err != nil {
		return nil, err
	}
	if opt.ProxyAll {
		p.ProxyEvery = true
	}
	var ev checker.Evidence
	opt.AbortIf, opt.Evidence = s.AbortIf, &ev
	r, err := Run(ctx, p, opt)
	if err != nil {
		return nil, err
	}
	if note != "" {
		r.Harness.Notes = append([]string{note}, r.Harness.Notes...)
	}
	r.Harness.SpeedAuto = choice
	checker.Judge(r, &ev, s.Expect)
	allow := opt.Allow
	allow.Unsettled = allow.Unsettled || !s.Settle.Required
	if err := checker.SaveEvidence(opt.Dir, s, r, &ev, allow); err != nil {
		return nil, exit.CannotRun(fmt.Errorf("saving the evidence: %w", err))
	}
	checker.Trust(r, allow)
	return r, nil
}

// Simulator is a runtime that runs a scenario in virtual time instead of
// booting a system (harness/model): no speed, no machine to keep up with.
type Simulator interface {
	Simulate(ctx context.Context, s *scenarios.Scenario, dir string) (*result.Result, error)
}

// simulate runs s on a Simulator and judges its expectations. Speed is
// meaningless in virtual time: speed: auto measures nothing.
func simulate(ctx context.Context, sim Simulator, s *scenarios.Scenario, opt Options) (*result.Result, error) {
	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "%s: simulating %s of model time in virtual time…\n", s.Name, s.Duration)
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, exit.CannotRun(err)
	}
	r, err := sim.Simulate(ctx, s, opt.Dir)
	if err != nil {
		return nil, err
	}
	r.OutDir = opt.Dir
	checker.Judge(r, nil, s.Expect)
	allow := opt.Allow
	allow.Unsettled = allow.Unsettled || !s.Settle.Required
	checker.Trust(r, allow)
	return r, nil
}

// chooseSpeed measures the machine (once per calibrator and wiring) and
// picks the speed of an auto-speed scenario.
func chooseSpeed(ctx context.Context, s *scenarios.Scenario, opt Options, limit float64) (result.SpeedChoice, error) {
	planned := *s
	planned.Speed = 1
	p, err := NewPlan(&planned, "calibrate")
	if err != nil {
		return result.SpeedChoice{}, err
	}
	if opt.ProxyAll {
		p.ProxyEvery = true
	}
	cal := opt.Calibrator
	if cal == nil {
		cal = &Calibrator{}
	}
	if opt.Progress != nil {
		fmt.Fprintln(opt.Progress, "speed auto: measuring what an order costs this machine…")
	}
	m, err := cal.Cost(ctx, benchLinks(p.Proxied()))
	if err != nil {
		return result.SpeedChoice{}, err
	}
	return AutoSpeed(s, m, limit)
}

// benchLinks maps a plan's proxied links onto the calibration pipeline's
// (benchDynos dynos): the fixed links as they are, and every dyno's link
// when any of the plan's dyno links is proxied.
func benchLinks(proxied []string) []string {
	var out []string
	dynos := false
	for _, l := range proxied {
		if base, _, ok := topology.SplitIndexed(l); ok && base == topology.DynoLinks {
			dynos = true
			continue
		}
		out = append(out, l)
	}
	if dynos {
		for i := 1; i <= benchDynos; i++ {
			out = append(out, topology.DynoLink(i))
		}
	}
	sort.Strings(out)
	return out
}
