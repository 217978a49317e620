package harness

import (
	"fmt"
	"slices"
	"sort"
	"strings"
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
	// A link passes through a toxiproxy relay when a fault of Faults
	// names it, when it is one of AlsoProxied (each dyno's link by its
	// own name, router->dyno[i]), or always with ProxyEvery (--proxy-all).
	// Every other link is wired directly, which costs the machine less
	// per order. Proxied lists them.
	AlsoProxied []string
	ProxyEvery  bool

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

// The links of DESIGN.md a fault may name; routerDynoLink names every
// dyno's link at once, routerDynoLink+"[i]" the i-th.
const routerDynoLink = "router->dyno"

// fixedLinks are the links that exist once per system.
var fixedLinks = []string{"edge->router", "edge->capture", "dyno->gateway", "dyno->db", "replayer->router", "reconciler->gateway"}

// AllLinks lists every link of a system of n dynos, sorted.
func AllLinks(n int) []string {
	out := append([]string(nil), fixedLinks...)
	for i := 1; i <= n; i++ {
		out = append(out, dynoLink(i))
	}
	sort.Strings(out)
	return out
}

// dynoLink names the router's link to the i-th dyno (1-based).
func dynoLink(i int) string { return fmt.Sprintf("%s[%d]", routerDynoLink, i) }

// faultedLinks are the links the faults of p name, each dyno's link
// separately, sorted: the links that need a toxiproxy relay.
func faultedLinks(faults []FaultPlan, dynos int) []string {
	set := map[string]bool{}
	for _, f := range faults {
		switch {
		case containerFaults[f.Toxic]:
		case f.Link == routerDynoLink:
			for i := 1; i <= dynos; i++ {
				set[dynoLink(i)] = true
			}
		case f.Link != "":
			set[f.Link] = true
		}
	}
	out := make([]string, 0, len(set))
	for l := range set {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Proxied lists, sorted, the links that pass through a toxiproxy relay.
func (p *Plan) Proxied() []string {
	if p.ProxyEvery {
		return AllLinks(p.Dynos)
	}
	out := append(faultedLinks(p.Faults, p.Dynos), p.AlsoProxied...)
	sort.Strings(out)
	return slices.Compact(out)
}

// Proxies says whether link passes through a toxiproxy relay in this
// plan; every other link is wired directly.
func (p *Plan) Proxies(link string) bool {
	_, found := slices.BinarySearch(p.Proxied(), link)
	return found
}

// ProxiedSummary lists the proxied links for a person: every dyno's link
// as one "router->dyno" when all are proxied.
func ProxiedSummary(proxied []string, dynos int) []string {
	out := []string{}
	n := 0
	for _, l := range proxied {
		if strings.HasPrefix(l, routerDynoLink+"[") {
			n++
			continue
		}
		out = append(out, l)
	}
	if n > 0 && n == dynos {
		out = append(out, routerDynoLink)
	} else {
		for _, l := range proxied {
			if strings.HasPrefix(l, routerDynoLink+"[") {
				out = append(out, l)
			}
		}
	}
	sort.Strings(out)
	return out
}
