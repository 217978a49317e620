package scenarios

import (
	"time"

	"paydrill/sim/dist"
)

// Scenario is one experiment: the system to boot, the load to drive through
// it, the faults to inject on a schedule and the expectations the result must
// meet. Every duration is model time (see Speed). Struct tags carry the YAML
// key (yaml), a description (doc), a unit for values that are not what their
// Go type says (unit: rate = float64 per second written "5/s"; money = int64
// cents written "35.00"; cpu, memory and min_available = Kubernetes
// quantities held as written: "500m", "256Mi", "50%") and the name of an enumeration (enum); the decoder,
// the --set overrides and the JSON Schema are all built from them, and from
// FaultKinds for what a fault's toxic, target and attributes may be.
type Scenario struct {
	Name        string        `yaml:"name" doc:"Short name of the scenario; defaults to the file name without its extension."`
	Description string        `yaml:"description,omitempty" doc:"One line saying what the scenario shows; paydrill list prints it."`
	Seed        int64         `yaml:"seed" doc:"Seed of every random choice (routing, service times, amounts, customers), so a run can be repeated."`
	Speed       float64       `yaml:"speed" unit:"speed" doc:"How many times faster than the wall clock the model runs: every duration handed to a component is divided by it and the load rate multiplied by it. Reports stay in model time. auto: the harness measures this machine at start and picks the highest speed that leaves it a factor 2 of margin for this scenario's load and system (the report says which and why)."`
	Duration    time.Duration `yaml:"duration" doc:"Model time the load runs for."`
	System      System        `yaml:"system" doc:"The simulated payment system."`
	Load        Traffic       `yaml:"load" doc:"The order traffic driven through the edge."`
	Faults      []Fault       `yaml:"faults,omitempty" doc:"Faults injected on a schedule: toxiproxy toxics on links, container faults (docker runtime only), or Kubernetes faults on pods, nodes and zones (kubernetes runtime only)."`
	Expect      []Expectation `yaml:"expect,omitempty" doc:"Expectations on the result, each KEY OP VALUE (e.g. double_charges == 0, rto < 60s), optionally judged over a window of the run (during fault 1: success_rate > 99%; after recovery for 30s: latency_ms.p99 < 500ms); a run passes when all hold."`
	AbortIf     []Expectation `yaml:"abort_if,omitempty" doc:"Stop conditions, each KEY OP VALUE on the orders so far (e.g. lost_orders > 100), checked about every second of wall time while the load runs: when one holds the load stops early, the run settles and is checked as usual, and it fails saying which condition held."`
	Settle      Settle        `yaml:"settle" doc:"How the harness waits, after the load stops, for replays and reconciliation to finish before checking."`
	Drill       Drill         `yaml:"drill" doc:"A disaster-recovery runbook rehearsed against the system (needs system.regions.standby), with its objectives."`
	RTOWindow   time.Duration `yaml:"rto_window" doc:"Recovery means production (not capture) answers at least 99% of orders for this long; RTO is measured from a fault's start to the start of such a window."`

	// File is the path the scenario was read from ("" when built in code).
	File string `yaml:"-"`

	dir string         // directory for relative sample files
	pos map[string]Pos // key path → where its value was written
}

// System describes the simulated payment system.
type System struct {
	Edge       Edge       `yaml:"edge" doc:"The edge router in front of production; fails orders over to capture."`
	Capture    Capture    `yaml:"capture" doc:"The failover capture service, which stores the orders the edge fails over and answers as production would."`
	Router     Router     `yaml:"router" doc:"Production's router, which picks a dyno per order."`
	Dynos      Dynos      `yaml:"dynos" doc:"Production's pool of app servers."`
	App        App        `yaml:"app" doc:"What the app on each dyno does with an order."`
	Gateway    Gateway    `yaml:"gateway" doc:"The payment gateway (its ledger is the ground truth for money)."`
	Reconciler Reconciler `yaml:"reconciler" doc:"The periodic job that settles orders accepted while the gateway was down."`
	Replayer   Replayer   `yaml:"replayer" doc:"The job that replays orders captured during a failover to production."`
	Regions    Regions    `yaml:"regions" doc:"A standby region (router, dynos and db built from the same settings) behind a global load balancer, for disaster-recovery drills; none by default."`
	GSLB       GSLB       `yaml:"gslb" doc:"The global load balancer between the edge and the regions (used only with a standby region)."`
}

// Regions describes the standby region and what the regions cost.
type Regions struct {
	Standby Standby `yaml:"standby" doc:"The standby region: how it is kept (mode) and how long each recovery operation takes."`
	Cost    Cost    `yaml:"cost" doc:"Hourly prices, for the standby's monthly cost in the result."`
}

// Standby is how the standby region is kept and recovered.
type Standby struct {
	Mode           string        `yaml:"mode" enum:"standby_mode" doc:"none (no standby region: the default), hot (built and running, dynos and all), warm (router and db running, the db following the primary, zero dynos until provision), cold (nothing runs until provision creates the region, its db restored from the last backup)."`
	Dynos          int           `yaml:"dynos" doc:"The standby's dyno count once provisioned; 0 is the primary's (system.dynos.count)." min:"0"`
	Provision      time.Duration `yaml:"provision" doc:"The platform's time to provision the standby (warm: start its dynos; cold: create the region), added to the real start-up and readiness check."`
	Promote        time.Duration `yaml:"promote" doc:"The time a promotion of the standby db takes before it takes writes."`
	ReplicationLag time.Duration `yaml:"replication_lag" doc:"Each order committed on the primary db is applied on the standby's this long after its commit (asynchronous replication); the replication link db->replica can be broken, so the lag grows."`
	BackupInterval time.Duration `yaml:"backup_interval" doc:"cold: how often the primary db is backed up; a provisioned cold standby restores the last backup."`
}

// Cost is the hourly prices of the standby's parts.
type Cost struct {
	DynoHour         int64 `yaml:"dyno_hour" unit:"money" doc:"Price of one dyno for an hour (dollars, e.g. \"0.10\")."`
	ControlPlaneHour int64 `yaml:"control_plane_hour" unit:"money" doc:"Price of a region's control plane (its router) for an hour."`
	DBHour           int64 `yaml:"db_hour" unit:"money" doc:"Price of a region's db for an hour."`
}

// GSLB is the global load balancer's configuration.
type GSLB struct {
	Mode     string        `yaml:"mode" enum:"gslb_mode" doc:"auto (switch by itself to a ready standby once the active region has failed failures health checks in a row) or manual (only a drill's reroute step switches)."`
	Interval time.Duration `yaml:"interval" doc:"Time between health checks of the active region (its /readyz through the region's link)."`
	Failures int           `yaml:"failures" doc:"Failed health checks in a row after which the active region is unhealthy." min:"1"`
	TTL      time.Duration `yaml:"ttl" doc:"DNS cache time: after a switch, the share of orders still sent to the old region falls linearly from 1 to 0 over it. 0: clients switch at once."`
}

// Drill is a disaster-recovery runbook rehearsed against the system, and
// the objectives it must meet.
type Drill struct {
	Objectives Objectives  `yaml:"objectives" doc:"The recovery objectives; a drill that misses one fails the run."`
	Steps      []DrillStep `yaml:"steps,omitempty" doc:"The runbook's steps, each started at a time, after another step, or when a condition holds."`
}

// Objectives are a drill's recovery time and recovery point objectives.
type Objectives struct {
	RTO time.Duration `yaml:"rto" doc:"Recovery time objective: the longest the outage may keep production from answering (the result's rto_s); 0: none."`
	RPO time.Duration `yaml:"rpo" doc:"Recovery point objective: the longest span of acknowledged orders the failover may lose (the result's rpo_s); 0: none."`
}

// DrillStep is one step of a runbook.
type DrillStep struct {
	Name  string        `yaml:"name" doc:"The step's name; other steps name it in after."`
	Do    string        `yaml:"do" enum:"drill_action" doc:"What the step does: detect (someone notices), provision (bring the standby up: warm starts its dynos, cold creates the region; nothing for hot), promote (the standby db stops following and takes writes), reroute (the gslb sends orders to the standby), failback (re-sync the primary from the standby, route back to it, the standby follows again), wait (nothing: people's time)."`
	At    time.Duration `yaml:"at" doc:"Start at this model time from the start of the run."`
	After string        `yaml:"after" doc:"Start when the named step has ended."`
	When  string        `yaml:"when" enum:"drill_condition" doc:"Start when a condition holds: gslb-unhealthy (the gslb's health checks find the active region failing), gslb-switched (the gslb switched region, e.g. by itself in mode auto), standby-ready (the standby region answers its readiness check)."`
	Takes time.Duration `yaml:"takes" doc:"People's time (paging, confirming, typing) spent before the step's own operation starts."`
}

// Edge is the edge router's configuration.
type Edge struct {
	FailoverTimeout time.Duration `yaml:"failover_timeout" doc:"How long the edge waits for production before sending the identical request to capture."`
}

// Capture is the capture service's configuration.
type Capture struct {
	Ack   string        `yaml:"ack" enum:"ack" doc:"When capture answers an order it accepts: durable (once the raw request is synced to its store, as the design requires) or early (at once, the request held in memory and written to the store within flush: the known-bad variant, where a capture killed meanwhile loses orders the customer was told succeeded)."`
	Flush time.Duration `yaml:"flush" doc:"With ack: early, the longest an acknowledged order waits in memory before capture writes it to its store (the first order of an empty buffer starts the clock); at most half of settle.quiet. Unused with ack: durable."`
}

// Router is production's router configuration.
type Router struct {
	Strategy string        `yaml:"strategy" enum:"strategy" doc:"How a dyno is picked per order: random (as in the original design), round-robin, least-conn, or p2c (power of two choices)."`
	Timeout  time.Duration `yaml:"timeout" doc:"How long the router waits for a dyno before answering 503."`
}

// Dynos is the dyno pool's configuration.
type Dynos struct {
	Count       int      `yaml:"count" doc:"Number of dynos." min:"1"`
	Workers     int      `yaml:"workers" doc:"Orders a dyno works on at once." min:"1"`
	Backlog     int      `yaml:"backlog" doc:"Orders a dyno queues beyond its workers before refusing (503)." min:"0"`
	ServiceTime TimeDist `yaml:"service_time" doc:"Time a worker spends on an order, besides waiting for the gateway."`

	// The HA/DR seed's redundancy practice: where the dynos are placed
	// and how they are kept available. Only the kubernetes runtime
	// realises these (the others refuse a scenario that sets one).
	Zones            int              `yaml:"zones,omitempty" doc:"How many zones the dynos are placed in, 1 to 3 (the local cluster's zones a, b, c): 1 packs them in zone a, N spreads them over the first N zones; left out: no constraint. Needs --runtime kubernetes." min:"1" max:"3"`
	Spread           string           `yaml:"spread" enum:"spread" doc:"How the dynos are spread over their zones: none (the default: no constraint), zone (evenly: at most one more in any zone than in another) or anti-affinity (at most one dyno a zone). zone and anti-affinity need zones of 2 or more. Needs --runtime kubernetes."`
	Limits           Limits           `yaml:"limits,omitempty" doc:"Each dyno's resource limits (none by default). Needs --runtime kubernetes."`
	Probes           Probes           `yaml:"probes,omitempty" doc:"The dynos' readiness and liveness probes (their /readyz and /healthz; none by default). Needs --runtime kubernetes."`
	DisruptionBudget DisruptionBudget `yaml:"disruption_budget,omitempty" doc:"The dynos' disruption budget, which node drains respect (none by default). Needs --runtime kubernetes."`
}

// Limits are a dyno's resource limits, as Kubernetes quantities.
type Limits struct {
	CPU    string `yaml:"cpu,omitempty" unit:"cpu" doc:"CPU limit, a Kubernetes CPU quantity: cores (1, 0.5) or millicores (500m)."`
	Memory string `yaml:"memory,omitempty" unit:"memory" doc:"Memory limit, a Kubernetes memory quantity: bytes with a binary (Ki, Mi, Gi, Ti) or decimal (k, M, G, T) suffix, e.g. 256Mi, 1Gi."`
}

// Probes are the dynos' readiness and liveness probes.
type Probes struct {
	Readiness Probe `yaml:"readiness,omitempty" doc:"The readiness probe (/readyz): a dyno failing it takes no orders from its Service until it passes again."`
	Liveness  Probe `yaml:"liveness,omitempty" doc:"The liveness probe (/healthz): a dyno failing it is restarted."`
}

// Probe is one probe: how often it runs and how many failures in a row
// make it fail. A probe written needs both.
type Probe struct {
	Period   time.Duration `yaml:"period,omitempty" doc:"Time between two probes (model time, scaled to wall time by speed like every duration)."`
	Failures int           `yaml:"failures,omitempty" doc:"Failures in a row after which the probe fails." min:"1"`
}

// DisruptionBudget is the dynos' PodDisruptionBudget.
type DisruptionBudget struct {
	MinAvailable string `yaml:"min_available,omitempty" unit:"min_available" doc:"How many dynos a voluntary disruption (a node drain's evictions) must leave available: a number of dynos up to system.dynos.count (2), or a percentage of them (50%)."`
}

// App is what the app on each dyno does with an order.
type App struct {
	GatewayTimeout time.Duration `yaml:"gateway_timeout" doc:"How long the app waits for the gateway before treating the charge as failed."`
	RiskLimit      int64         `yaml:"risk_limit" unit:"money" doc:"Orders below this amount (dollars, e.g. \"100.00\") are accepted without a charge when the gateway does not answer; larger ones fail."`
	Dedupe         string        `yaml:"dedupe" enum:"dedupe" doc:"How production de-duplicates by request id: off, check (look up, then charge: racy), claim (insert the id under a unique constraint before charging)."`
}

// Gateway is the payment gateway's configuration.
type Gateway struct {
	Latency     TimeDist `yaml:"latency" doc:"Time the gateway takes to answer a charge."`
	Idempotency bool     `yaml:"idempotency" doc:"Whether the gateway honours idempotency keys (a key seen before returns the first charge)."`
}

// Reconciler is the reconciler's configuration.
type Reconciler struct {
	Interval time.Duration `yaml:"interval" doc:"Time between reconciliation passes."`
	Match    string        `yaml:"match" enum:"match" doc:"How a deferred order is matched to a gateway charge: similar (same customer and amount within window, as in the original design; can adopt the wrong charge) or reference (by the order's reference)."`
	Window   time.Duration `yaml:"window" doc:"For match: similar, how far either side of the order's time a charge may be."`
}

// Replayer is the replayer's configuration.
type Replayer struct {
	Mode string        `yaml:"mode" enum:"replay_mode" doc:"When captured orders are replayed: auto (once production is ready again), manual (only when asked), at (at the model time given by at)."`
	At   time.Duration `yaml:"at,omitempty" doc:"With mode: at, the model time from the start of the run at which replay starts."`
	Rate float64       `yaml:"rate" unit:"rate" doc:"Replay rate (e.g. 20/s or 600/m)."`
}

// Traffic is the order traffic (the load section).
type Traffic struct {
	Rate      float64       `yaml:"rate" unit:"rate" doc:"Order rate (e.g. 5/s or 120/m); with stages, the rate the first stage ramps from."`
	Stages    []Stage       `yaml:"stages,omitempty" doc:"Optional ramps: each stage goes linearly from the previous rate to its own over its duration; after the last, its rate holds until the end."`
	Customers int           `yaml:"customers" doc:"Size of the customer population orders are drawn from (repeat purchases of the same amount happen, as in life)." min:"1"`
	Amount    MoneyDist     `yaml:"amount" doc:"Distribution of order amounts, in dollars (e.g. {dist: lognormal, median: \"35.00\", p99: \"400.00\"})."`
	Timeout   time.Duration `yaml:"timeout" doc:"How long a client waits for an answer before giving up."`
	Arrivals  string        `yaml:"arrivals" enum:"arrivals" doc:"How orders are spaced in time: constant (evenly, at exactly the rate) or poisson (independent customers: exponential gaps averaging the rate, as queueing theory assumes)."`
}

// Stage is one ramp of the load.
type Stage struct {
	Duration time.Duration `yaml:"duration" doc:"Length of the ramp."`
	Rate     float64       `yaml:"rate" unit:"rate" doc:"Rate reached at the end of the ramp (e.g. 50/s)."`
}

// Fault is one scheduled fault: a toxic on a link (toxiproxy's own toxics,
// or down: the link refuses connections), with Target a container fault
// (kill, stop, restart, pause; the docker runtime only), or a Kubernetes
// fault on a Target or a Zone (pod-kill, node-drain, zone-outage, scale;
// the kubernetes runtime only).
type Fault struct {
	Name       string           `yaml:"name" doc:"Optional label shown in reports."`
	At         time.Duration    `yaml:"at" doc:"Model time from the start of the run when the fault begins."`
	For        time.Duration    `yaml:"for" doc:"How long the fault lasts; leave it out for until the end of the run."`
	Link       string           `yaml:"link" doc:"The link a toxic breaks: edge->router, router->dyno (every dyno), router->dyno[i] (1-based), dyno->gateway, dyno->db, edge->capture, replayer->router, reconciler->gateway; with a standby region also db->replica (replication)."`
	Region     string           `yaml:"region" enum:"region" doc:"With a standby region, the region a toxic breaks as a whole (primary or standby): the toxic acts on the region's gslb link and on the replication link, as a region's outage cuts both."`
	Target     string           `yaml:"target"`             // its description names the container and Kubernetes faults: see faultFieldDoc
	Zone       string           `yaml:"zone" enum:"zone"`   // its description names the Kubernetes faults: see faultFieldDoc
	Replicas   int              `yaml:"replicas" min:"0"`   // its description names the Kubernetes faults: see faultFieldDoc
	Toxic      string           `yaml:"toxic" enum:"toxic"` // a FaultKind's name; its description lists them: see faultFieldDoc
	Stream     string           `yaml:"stream" enum:"stream" doc:"Which direction a toxic acts on: downstream (answers, towards the caller) or upstream (requests)."`
	Attributes map[string]int64 `yaml:"attributes" doc:"The toxic's attributes; durations are written as Go durations (latency: 500ms) and held in toxiproxy's units (milliseconds; microseconds for slicer delay)."`

	// Pos is where the fault was written (the list item), for later errors.
	Pos Pos `yaml:"-"`
}

// Settle is how the harness waits for the system to settle after the load.
type Settle struct {
	Timeout time.Duration `yaml:"timeout" doc:"Longest the harness waits for replays and reconciliation to finish before checking anyway."`
	Quiet   time.Duration `yaml:"quiet" doc:"The system is settled once nothing is pending and nothing has changed for this long."`
	// Required: a run that has not settled by Timeout fails whatever its
	// expectations say (its stores were still changing when checked).
	Required bool `yaml:"required" doc:"Whether a run that has not settled by the timeout fails whatever its expectations say (true); false judges its expectations on the stores as they are then (or pass --allow-unsettled)."`
}

// TimeDist is a distribution of model-time durations: const (value),
// uniform (min, max), exponential (mean), lognormal (median, p99), weibull
// (shape, scale) or empirical (file: one duration a line, relative to the
// scenario file). In YAML a bare duration is short for {dist: const, value: it}.
type TimeDist struct {
	Dist   string        `yaml:"dist" enum:"dist" doc:"The distribution's kind."`
	Value  time.Duration `yaml:"value" doc:"const: the value."`
	Min    time.Duration `yaml:"min" doc:"uniform: the lower bound (default 0)."`
	Max    time.Duration `yaml:"max" doc:"uniform: the upper bound."`
	Mean   time.Duration `yaml:"mean" doc:"exponential: the mean."`
	Median time.Duration `yaml:"median" doc:"lognormal: the median."`
	P99    time.Duration `yaml:"p99" doc:"lognormal: the 99th percentile."`
	Shape  float64       `yaml:"shape" doc:"weibull: the shape (unitless; below 1 is heavy-tailed)."`
	Scale  time.Duration `yaml:"scale" doc:"weibull: the scale."`
	File   string        `yaml:"file" doc:"empirical: a file of samples, one duration a line (# comments allowed), relative to the scenario file."`

	// Samples are the empirical samples, read from File when the scenario
	// is parsed.
	Samples []time.Duration `yaml:"-"`

	loaded string // the path Samples were read from
}

// MoneyDist is a distribution of amounts of money, written in dollars
// ("35.00") and held in cents; the kinds and parameters are TimeDist's. In
// YAML a bare amount is short for {dist: const, value: it}.
type MoneyDist struct {
	Dist   string  `yaml:"dist" enum:"dist" doc:"The distribution's kind."`
	Value  int64   `yaml:"value" unit:"money" doc:"const: the amount."`
	Min    int64   `yaml:"min" unit:"money" doc:"uniform: the lower bound (default 0)."`
	Max    int64   `yaml:"max" unit:"money" doc:"uniform: the upper bound."`
	Mean   int64   `yaml:"mean" unit:"money" doc:"exponential: the mean."`
	Median int64   `yaml:"median" unit:"money" doc:"lognormal: the median."`
	P99    int64   `yaml:"p99" unit:"money" doc:"lognormal: the 99th percentile."`
	Shape  float64 `yaml:"shape" doc:"weibull: the shape (unitless; below 1 is heavy-tailed)."`
	Scale  int64   `yaml:"scale" unit:"money" doc:"weibull: the scale."`
	File   string  `yaml:"file" doc:"empirical: a file of samples, one amount of dollars a line (# comments allowed), relative to the scenario file."`

	// Samples are the empirical samples in cents, read from File when the
	// scenario is parsed.
	Samples []int64 `yaml:"-"`

	loaded string
}

// Spec returns the distribution in seconds of model time, for dist.
func (d TimeDist) Spec() dist.Spec {
	sec := func(v time.Duration) float64 { return v.Seconds() }
	s := dist.Spec{
		Kind: d.Dist, Value: sec(d.Value), Min: sec(d.Min), Max: sec(d.Max), Mean: sec(d.Mean),
		Median: sec(d.Median), P99: sec(d.P99), Shape: d.Shape, Scale: sec(d.Scale),
	}
	if len(d.Samples) > 0 {
		s.Samples = make([]float64, len(d.Samples))
		for i, v := range d.Samples {
			s.Samples[i] = sec(v)
		}
	}
	return s
}

// Spec returns the distribution in cents, for dist.
func (d MoneyDist) Spec() dist.Spec {
	c := func(v int64) float64 { return float64(v) }
	s := dist.Spec{
		Kind: d.Dist, Value: c(d.Value), Min: c(d.Min), Max: c(d.Max), Mean: c(d.Mean),
		Median: c(d.Median), P99: c(d.P99), Shape: d.Shape, Scale: c(d.Scale),
	}
	if len(d.Samples) > 0 {
		s.Samples = make([]float64, len(d.Samples))
		for i, v := range d.Samples {
			s.Samples[i] = c(v)
		}
	}
	return s
}

// SpeedAuto is the Speed of a scenario that says `speed: auto`: the harness
// picks the speed when it runs (see harness.AutoSpeed).
const SpeedAuto = -1.0

// AutoSpeed says whether the speed is left to the harness.
func (s *Scenario) AutoSpeed() bool { return s.Speed == SpeedAuto }

// Default returns the scenario every file starts from: a small healthy
// system (5 dynos × 2 workers at about 15% utilisation) under 5 orders a
// second for 2 model minutes, no faults and no expectations, in real time
// (speed 1).
func Default() Scenario {
	return Scenario{
		Name:     "default",
		Seed:     1,
		Speed:    1,
		Duration: 2 * time.Minute,
		System: System{
			Edge:    Edge{FailoverTimeout: 15 * time.Second},
			Capture: Capture{Ack: "durable", Flush: time.Second},
			Router:  Router{Strategy: "random", Timeout: 30 * time.Second},
			Dynos: Dynos{Count: 5, Workers: 2, Backlog: 50, Spread: "none",
				ServiceTime: TimeDist{Dist: "lognormal", Median: 50 * time.Millisecond, P99: 900 * time.Millisecond}},
			App:        App{GatewayTimeout: 10 * time.Second, RiskLimit: 100_00, Dedupe: "claim"},
			Gateway:    Gateway{Latency: TimeDist{Dist: "lognormal", Median: 150 * time.Millisecond, P99: 800 * time.Millisecond}},
			Reconciler: Reconciler{Interval: time.Minute, Match: "similar", Window: 10 * time.Minute},
			Replayer:   Replayer{Mode: "auto", Rate: 20},
			Regions: Regions{Standby: Standby{Mode: "none", Provision: 4 * time.Minute, Promote: 30 * time.Second,
				ReplicationLag: 2 * time.Second, BackupInterval: time.Hour}},
			GSLB: GSLB{Mode: "manual", Interval: 10 * time.Second, Failures: 3, TTL: 60 * time.Second},
		},
		Load: Traffic{
			Rate:      5,
			Customers: 2000,
			Amount:    MoneyDist{Dist: "lognormal", Median: 35_00, P99: 400_00},
			Timeout:   60 * time.Second,
			Arrivals:  "constant",
		},
		Settle:    Settle{Timeout: 5 * time.Minute, Quiet: 10 * time.Second, Required: true},
		RTOWindow: 10 * time.Second,
	}
}

// newFault is a fault before its keys are read: downstream unless told.
func newFault() Fault { return Fault{Stream: "downstream"} }

// enums lists the values each enumeration allows, but toxic's: the fault
// kinds (see enumValues).
var enums = map[string][]string{
	"strategy":        {"random", "round-robin", "least-conn", "p2c"},
	"ack":             {"durable", "early"},
	"arrivals":        {"constant", "poisson"},
	"dedupe":          {"off", "check", "claim"},
	"match":           {"similar", "reference"},
	"replay_mode":     {"auto", "manual", "at"},
	"stream":          {"downstream", "upstream"},
	"spread":          {"none", "zone", "anti-affinity"},
	"zone":            {"a", "b", "c"},
	"region":          {"primary", "standby"},
	"standby_mode":    {"none", "hot", "warm", "cold"},
	"gslb_mode":       {"auto", "manual"},
	"drill_action":    {"detect", "provision", "promote", "reroute", "failback", "wait"},
	"drill_condition": {"gslb-unhealthy", "gslb-switched", "standby-ready"},
	"dist":            {"const", "uniform", "exponential", "lognormal", "weibull", "empirical"},
}

// enumValues returns the values the enumeration name (an enum struct tag)
// allows: for toxic, the names of FaultKinds.
func enumValues(name string) []string {
	if name == "toxic" {
		return faultKindNames(nil)
	}
	return enums[name]
}

// distParams lists, per distribution kind, its parameters (YAML keys) and
// which of them must be given.
var distParams = map[string]struct{ all, required []string }{
	"const":       {[]string{"value"}, []string{"value"}},
	"uniform":     {[]string{"min", "max"}, []string{"max"}},
	"exponential": {[]string{"mean"}, []string{"mean"}},
	"lognormal":   {[]string{"median", "p99"}, []string{"median", "p99"}},
	"weibull":     {[]string{"shape", "scale"}, []string{"shape", "scale"}},
	"empirical":   {[]string{"file"}, []string{"file"}},
}

// distParamKeys is every parameter key of a distribution, in field order.
var distParamKeys = []string{"value", "min", "max", "mean", "median", "p99", "shape", "scale", "file"}
