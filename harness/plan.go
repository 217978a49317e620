package harness

import (
	"time"

	"paydrill/sim/capture"
	"paydrill/sim/db"
	"paydrill/sim/dist"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/reconciler"
	"paydrill/sim/replayer"
	"paydrill/sim/router"
)

// Plan is a scenario translated to wall-clock time: every duration has been
// divided by Speed and every rate multiplied by it. Runtimes and the load
// see only a Plan; reports convert back to model time with Speed.
type Plan struct {
	Name     string
	RunID    string
	Seed     int64
	Speed    float64
	Duration time.Duration // wall time the load runs
	Dynos    int

	// Component configs in wall time; runtimes fill in addresses, stores,
	// names and per-instance seeds.
	Edge       edge.Config
	Router     router.Config
	Dyno       dyno.Config
	Gateway    gateway.Config
	DB         db.Config
	Capture    capture.Config
	Replayer   replayer.Config
	Reconciler reconciler.Config
	// ReplayAt, when set, is the wall offset from the load's start at which
	// the harness tells the replayer to replay (replayer mode "at").
	ReplayAt time.Duration

	Load   LoadPlan
	Faults []FaultPlan

	SettleTimeout time.Duration // wall
	SettleQuiet   time.Duration // wall
	RTOWindow     time.Duration // model
}

// LoadPlan is the order traffic in wall time.
type LoadPlan struct {
	Stages    []Stage // piecewise linear; a constant rate is one stage with From == To
	Timeout   time.Duration
	Customers int
	Amount    dist.Dist // cents
	Seed      int64
	// Arrivals is ArrivalsConstant (the default, also when empty) or
	// ArrivalsPoisson.
	Arrivals string
}

// Stage ramps the rate linearly from From to To (orders per wall second)
// over Duration.
type Stage struct {
	Duration time.Duration
	From, To float64
}

// FaultPlan is one scheduled fault in wall time.
type FaultPlan struct {
	Index  int // 1-based, as in the scenario
	Name   string
	Link   string // a link name of DESIGN.md, or a container target
	Toxic  string // toxiproxy toxic, "down", or a container fault
	Stream string
	At     time.Duration
	For    time.Duration // 0: until the load ends
	// Attributes in toxiproxy's units, already scaled to wall time.
	Attributes map[string]int64
}

// AskedRate is the mean asked rate over the stages, orders per wall second.
func (l LoadPlan) AskedRate() float64 {
	var hits, d float64
	for _, s := range l.Stages {
		hits += (s.From + s.To) / 2 * s.Duration.Seconds()
		d += s.Duration.Seconds()
	}
	if d == 0 {
		return 0
	}
	return hits / d
}

// Total is the wall time of every stage.
func (l LoadPlan) Total() time.Duration {
	var d time.Duration
	for _, s := range l.Stages {
		d += s.Duration
	}
	return d
}
