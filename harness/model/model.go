// Package model is the model runtime (--runtime model): the scenario's
// system as a discrete-event simulation in virtual time, for capacity
// tuning. It runs the same load (the order source and the pacer vegeta
// paces the live runs with), the edge's failover, the router's strategies
// (sim/router's code, not a copy), the dynos' workers, backlog and
// refusals with the same service-time distributions and seeds
// (harness/topology gives every instance its seed, as it does for the
// live runtimes), the gateway's latency and timeout with risk acceptance,
// capture's answers and the replayer's passes. A ten-minute scenario of a
// thousand dynos takes well under a second, and the same seed gives the
// same figures every time.
//
// It keeps no stores: the money figures (charges, double charges, lost
// orders, reconciliation) are null in its results, and a scenario whose
// expectations need them, or a fault it does not model (a container
// fault, a toxic other than down, latency and timeout, a fault on the
// order store's link, a standby region), is refused as bad input naming
// the key. The live runtimes are the check that the model is right: the
// tests hold the two within a stated tolerance on the same scenarios.
package model

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"paydrill/harness"
	"paydrill/harness/exit"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/dist"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/replayer"
	"paydrill/sim/router"
)

// Name is the runtime's name in results and on the command line.
const Name = "model"

// Runtime is the model runtime. It runs no system (Start fails): the
// harness asks it to Simulate a scenario instead (harness.Simulator).
type Runtime struct{}

var (
	_ system.Runtime    = Runtime{}
	_ harness.Simulator = Runtime{}
)

// Name is "model".
func (Runtime) Name() string { return Name }

// Start fails: the model boots nothing.
func (Runtime) Start(context.Context, *topology.Topology, string) (*system.System, error) {
	return nil, errors.New("the model runtime boots no system: it simulates the scenario (harness.RunScenario)")
}

// Supports says which faults the model applies exactly: down, latency and
// timeout on a link.
func (Runtime) Supports(kind string) bool {
	switch kind {
	case toxicDown, toxicLatency, toxicTimeout:
		return true
	}
	return false
}

// The links the model knows, by the names scenarios give them.
const (
	linkEdgeRouter     = "edge->router"
	linkRouterDynos    = "router->dyno"
	linkDynoGateway    = "dyno->gateway"
	linkEdgeCapture    = "edge->capture"
	linkReplayerRouter = "replayer->router"
	linkDynoDB         = "dyno->db"
	linkReconciler     = "reconciler->gateway"
)

// Replayer modes as the model runs them.
const (
	replayManual = iota
	replayAuto
	replayAt
)

// config is the system in model seconds, read from the topology's
// instances (the same configurations and seeds the live runtimes start).
type config struct {
	orders          load.OrderSource
	failoverTimeout float64
	captureTimeout  float64
	clientTimeout   float64
	routerTimeout   float64
	strategy        string
	routerSeed      int64
	workers         int
	backlog         int
	dynos           []dyno.Config
	gatewayTimeout  float64
	riskLimit       int64
	dedupe          string
	gatewayLatency  dist.Dist
	gatewaySeed     int64
	replayMode      int
	replayAt        float64
	replayInterval  float64
	replayRate      float64
	replayTimeout   float64
}

// noAddresses wires the topology's configurations to nowhere: the model
// reads their settings and seeds, never their peers.
type noAddresses struct{}

func (noAddresses) Link(topology.Link) string       { return "http://model.invalid" }
func (noAddresses) Direct(topology.Instance) string { return "http://model.invalid" }
func (noAddresses) Store(topology.Instance) string  { return "" }

// Simulate runs the scenario in virtual time and returns its result, its
// expectations not judged yet (the harness judges them). dir is unused:
// the model leaves no stores or per-order results behind.
func (Runtime) Simulate(ctx context.Context, s *scenarios.Scenario, _ string) (*result.Result, error) {
	began := time.Now()
	if err := Refuse(s); err != nil {
		return nil, exit.BadInput(err)
	}
	at1 := *s
	at1.Speed = 1 // the plan in model time: the model's clock is the model's
	p, err := harness.NewPlan(&at1, "model")
	if err != nil {
		return nil, err
	}
	cfg, err := configure(s, p)
	if err != nil {
		return nil, exit.BadInput(err)
	}
	e, err := newEngine(s, p, cfg)
	if err != nil {
		return nil, exit.BadInput(err)
	}
	done := make(chan bool, 1)
	deadline := e.loadEnd + s.Settle.Timeout.Seconds()
	go func() { done <- e.run(deadline) }()
	var settled bool
	select {
	case settled = <-done:
	case <-ctx.Done():
		return nil, exit.CannotRun(fmt.Errorf("interrupted: %w", ctx.Err()))
	}
	r := e.result(s, p)
	r.Harness.Settled = settled
	if !settled {
		r.Harness.Notes = append(r.Harness.Notes, fmt.Sprintf("did not settle within the settle timeout: %d orders to replay", e.pending()))
	}
	wall := time.Since(began).Seconds()
	r.Harness.WallS = wall
	r.Harness.Notes = append(r.Harness.Notes, fmt.Sprintf(
		"model runtime: %s of model time simulated in %.3fs of wall time, in virtual time (no machine distortion); "+
			"it keeps no stores, so the money figures are null", s.Duration, wall))
	if n := notModelled(s); n != "" {
		r.Harness.Notes = append(r.Harness.Notes, n)
	}
	return r, nil
}

func configure(s *scenarios.Scenario, p *harness.Plan) (*config, error) {
	amount, err := s.Load.Amount.Spec().Dist()
	if err != nil {
		return nil, fmt.Errorf("load.amount: %w", err)
	}
	t := p.Topology()
	var cfg config
	cfg.orders = load.OrderSource{Seed: p.Load.Seed, Customers: p.Load.Customers, Amount: amount}
	cfg.clientTimeout = s.Load.Timeout.Seconds()
	for _, in := range t.Instances {
		if in.Region == topology.RegionStandby || in.Deferred {
			continue
		}
		switch c := t.Config(in, noAddresses{}).(type) {
		case *edge.Config:
			cfg.failoverTimeout, cfg.captureTimeout = c.FailoverTimeout.D().Seconds(), c.CaptureTimeout.D().Seconds()
		case *router.Config:
			cfg.strategy, cfg.routerSeed, cfg.routerTimeout = c.Strategy, c.Seed, c.Timeout.D().Seconds()
		case *dyno.Config:
			cfg.dynos = append(cfg.dynos, *c)
			cfg.workers, cfg.backlog = c.Workers, c.Backlog
			cfg.gatewayTimeout, cfg.riskLimit, cfg.dedupe = c.GatewayTimeout.D().Seconds(), c.RiskLimitCents, c.Dedupe
		case *gateway.Config:
			if cfg.gatewayLatency, err = c.Latency.Dist(); err != nil {
				return nil, fmt.Errorf("system.gateway.latency: %w", err)
			}
			cfg.gatewaySeed = c.Seed
		case *replayer.Config:
			cfg.replayInterval, cfg.replayRate, cfg.replayTimeout = c.Interval.D().Seconds(), c.Rate, c.Timeout.D().Seconds()
			switch {
			case p.ReplayAt > 0:
				cfg.replayMode, cfg.replayAt = replayAt, p.ReplayAt.Seconds()
			case c.Mode == replayer.ModeAuto:
				cfg.replayMode = replayAuto
			}
		}
	}
	return &cfg, nil
}

func newEngine(s *scenarios.Scenario, p *harness.Plan, cfg *config) (*engine, error) {
	strategy, err := router.NewNamed(cfg.strategy, cfg.routerSeed)
	if err != nil {
		return nil, fmt.Errorf("system.router.strategy: %w", err)
	}
	e := &engine{
		cfg:      cfg,
		arrivals: p.Load.Pacer(),
		loadEnd:  p.Load.Total().Seconds(),
		strategy: strategy,
		inflight: make([]int64, len(cfg.dynos)),
		gateway:  rand.New(rand.NewSource(cfg.gatewaySeed)),
		links:    newLinks(s.Seed),
		st:       newStats(),
	}
	for i, c := range cfg.dynos {
		st, err := c.ServiceTime.Dist()
		if err != nil {
			return nil, fmt.Errorf("system.dynos.service_time: %w", err)
		}
		e.dynos = append(e.dynos, dynoState{
			free: c.Workers, service: st, rng: rand.New(rand.NewSource(c.Seed)),
			link: topology.DynoLink(i + 1),
		})
	}
	var starts, ends []float64
	for _, f := range s.Faults {
		lf := linkFault{start: f.At.Seconds(), end: e.loadEnd, toxic: f.Toxic, upstream: f.Stream == "upstream"}
		if f.For > 0 {
			lf.end = min(lf.start+f.For.Seconds(), e.loadEnd)
		}
		switch f.Toxic {
		case toxicLatency:
			lf.delay, lf.jitter = millis(f, "latency"), millis(f, "jitter")
		case toxicTimeout:
			lf.closeAfter = millis(f, "timeout")
		}
		e.links.add(f.Link, lf)
		starts, ends = append(starts, lf.start), append(ends, lf.end)
	}
	e.rto = newRTOTracker(s.RTOWindow.Seconds(), starts, ends, e.loadEnd)
	return e, nil
}

// stats are the run's figures as the orders are answered, in memory that
// does not grow with the run.
type stats struct {
	sent, succeeded, rejected, errored, failovers, refused int
	latency                                                *hist
	queue                                                  *hist
	queueMean                                              *batchMeans
}

func newStats() *stats {
	return &stats{latency: newHist(), queue: newHist(), queueMean: newBatchMeans()}
}

func (s *stats) queued(ms float64) {
	s.queue.add(ms)
	s.queueMean.add(ms)
}

func (s *stats) answer(status, by int, latencyMS float64) {
	switch {
	case status >= 200 && status < 300:
		s.succeeded++
	case status >= 400 && status < 500:
		s.rejected++
	default:
		s.errored++
	}
	if by == byCapture {
		s.failovers++
	}
	s.latency.add(latencyMS)
}

// result is the run as DESIGN.md's result: the figures the model
// computes, the money figures null (result.ModelOmits).
func (e *engine) result(s *scenarios.Scenario, p *harness.Plan) *result.Result {
	st := e.st
	r := &result.Result{
		Scenario: s.Name, Runtime: Name, Seed: s.Seed, Speed: 1,
		ModelDurationS: p.Load.Total().Seconds(),
		Orders:         result.OrderCounts{Sent: st.sent, Succeeded: st.succeeded, Rejected: st.rejected, Errored: st.errored},
		Failovers:      st.failovers,
		LatencyMS:      st.latency.percentiles(),
		QueueMS: result.QueueTimes{
			Mean: st.queueMean.mean(), MeanCI95: st.queueMean.ci95(), P99: st.queue.quantile(0.99),
		},
		Anomalies: []result.Anomaly{},
	}
	r.Harness.AskedRate = p.Load.AskedRate()
	r.Harness.AchievedRate = r.Harness.AskedRate
	r.Harness.ProxiedLinks = []string{}
	if st.sent > 0 {
		r.SuccessRate = float64(st.succeeded) / float64(st.sent)
		r.FailoverRate = float64(st.failovers) / float64(st.sent)
	}
	for i, f := range s.Faults {
		tf := e.rto.faults[i]
		o := result.Outage{Fault: i + 1, Name: f.Name, Link: f.Link, Toxic: f.Toxic, StartS: tf.start, EndS: tf.end,
			RTOS: tf.rto, Recovered: tf.rto != nil}
		r.Outages = append(r.Outages, o)
		if tf.rto != nil && (r.RTOS == nil || *tf.rto > *r.RTOS) {
			v := *tf.rto
			r.RTOS = &v
		}
	}
	r.Replays = result.Progress{Done: len(e.captured) - e.pending(), Pending: e.pending()}
	return r
}

// notModelled names the scenario's settings that the model accepts but
// does not simulate, because they cannot change the figures it reports.
func notModelled(s *scenarios.Scenario) string {
	var keys []string
	for i, f := range s.Faults {
		if f.Link == linkReconciler {
			keys = append(keys, fmt.Sprintf("faults[%d] (reconciler->gateway)", i))
		}
	}
	keys = append(keys, "system.reconciler", "system.capture.ack", "system.gateway.idempotency", "load.customers")
	return "not simulated, as they change only the money figures: " + strings.Join(keys, ", ")
}
