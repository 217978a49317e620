package topology

import (
	"paydrill/sim/capture"
	"paydrill/sim/db"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/gslb"
	"paydrill/sim/reconciler"
	"paydrill/sim/replayer"
	"paydrill/sim/roles"
	"paydrill/sim/router"
	"paydrill/sim/wire"
)

// Configs are the components' configurations, in wall time, before
// wiring: the topology fills in names, seeds, stores and peers.
type Configs struct {
	Edge       edge.Config
	Router     router.Config
	Dyno       dyno.Config
	Gateway    gateway.Config
	DB         db.Config
	Capture    capture.Config
	Replayer   replayer.Config
	Reconciler reconciler.Config
	GSLB       gslb.Config
	// Standby is the standby region: none unless its Mode is hot, warm
	// or cold.
	Standby Standby
	// Redundancy is how the dynos are kept available where a runtime
	// places instances on nodes (kubernetes); the zero value asks for
	// nothing.
	Redundancy Redundancy
}

// Redundancy is the HA/DR seed's redundancy practice for the dynos, in
// wall time: realised as the real objects by the kubernetes runtime,
// refused by the runtimes that cannot honour it.
type Redundancy struct {
	// Zones is how many zones the dynos are placed in: 1 packs them in
	// zone a, N spreads them over the first N zones; 0: no constraint.
	Zones int
	// Spread is how they are spread over those zones: "zone" (a
	// topologySpreadConstraint, at most one more in any zone),
	// "anti-affinity" (at most one a zone), "" or "none".
	Spread string
	// CPU and Memory are each dyno's resource limits ("500m", "256Mi");
	// "": none.
	CPU, Memory string
	// Readiness and Liveness are the dynos' probes; zero: none.
	Readiness, Liveness Probe
	// MinAvailable is the dynos' PodDisruptionBudget ("2" or "50%");
	// "": none.
	MinAvailable string
}

// Probe is a probe's period and how many failures in a row make it fail.
type Probe struct {
	Period   wire.Duration
	Failures int
}

// Standby is how the standby region is built.
type Standby struct {
	Mode  string // "" or "none": no standby region; hot, warm, cold
	Dynos int    // its dyno count; 0: the primary's
	// ReplicationLag is how long after its commit on the primary an
	// order is applied on the standby's db.
	ReplicationLag wire.Duration
	// Restore is the file name, beside the stores, of the backup a cold
	// standby's db restores when it is created; "": none.
	Restore string
}

// The roles of DESIGN.md's system.
const (
	RoleGateway    = "gateway"
	RoleDB         = "db"
	RoleCapture    = "capture"
	RoleDyno       = "dyno"
	RoleRouter     = "router"
	RoleEdge       = "edge"
	RoleReplayer   = "replayer"
	RoleReconciler = "reconciler"
	RoleGSLB       = "gslb"
	// RoleProduction is what a LinkSpec names to reach production: the
	// gslb in a system with a standby region, else the router.
	RoleProduction = "production"
)

// The links of a system with a standby region: each region's link from
// the gslb (a region fault's toxic acts on it), and the standby db's
// replication link to the primary's.
const (
	LinkRegionPrimary = "region:" + RegionPrimary
	LinkRegionStandby = "region:" + RegionStandby
	LinkReplication   = "db->replica"
)

// InRegion names role's instance in region: "standby.db".
func InRegion(region, name string) string { return RegionPrefix(region) + name }

// DynoName names the i-th dyno (1-based): "dyno[i]".
func DynoName(i int) string { return IndexedName(RoleDyno, i) }

// DynoLink names the router's link to the i-th dyno: "router->dyno[i]".
func DynoLink(i int) string { return LinkName(RoleRouter, DynoName(i)) }

// DynoLinks is the name a fault gives every dyno's link at once.
const DynoLinks = RoleRouter + "->" + RoleDyno

// defaultRoles is DESIGN.md's system, in boot order: the stores, the
// dynos over them, the router over the dynos, (with a standby region) the
// gslb over both regions' routers, the edge over the router or gslb and
// capture, then the replayer and reconciler. The regional roles (db,
// dynos, router) have a second set of instances in the standby region,
// each booted after the primary's.
func defaultRoles() []Role {
	return []Role{
		{Role: roles.Role{Name: RoleGateway, Short: "Payment gateway: the ledger of charges, the ground truth for money",
			New: func() roles.Config { c := gateway.DefaultConfig(); return &c }}, Store: "gateway.sqlite", SeedOffset: 201,
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Gateway
				c.Store, c.Seed = w.Store(in), in.Seed
				return &c
			}},
		{Role: roles.Role{Name: RoleDB, Short: "Production order store shared by the dynos (request id unique); a standby's follows the primary's",
			New: func() roles.Config { c := db.DefaultConfig(); return &c }}, Store: "orders.sqlite", Regional: true,
			Links: []LinkSpec{{To: RoleDB, Port: 9007, Name: LinkReplication, FromRegion: RegionStandby, ToRegion: RegionPrimary,
				Also: []string{LinkRegionPrimary, LinkRegionStandby}, Standby: true, Follows: true}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.DB
				c.Store = w.Store(in)
				switch {
				case in.Region != RegionStandby:
				case w.Standby.Mode == "cold":
					if w.Standby.Restore != "" {
						c.Restore = w.Store(Instance{Store: w.Standby.Restore})
					}
				default:
					c.Follow, c.ReplicationLag = w.Named(LinkReplication), w.Standby.ReplicationLag
				}
				return &c
			}},
		{Role: roles.Role{Name: RoleCapture, Short: "Failover capture service: risk check, durable raw request, production-shaped answer",
			New: func() roles.Config { c := capture.DefaultConfig(); return &c }}, Store: "capture.sqlite",
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Capture
				c.Store = w.Store(in)
				return &c
			}},
		{Role: roles.Role{Name: RoleDyno, Short: "One app dyno: workers, backlog, de-dup, charge with timeout, save",
			New: func() roles.Config { c := dyno.DefaultConfig(); return &c }}, Many: true, Regional: true,
			Links: []LinkSpec{{To: RoleGateway, Port: 9001}, {To: RoleDB, Port: 9002}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Dyno
				c.Name, c.Seed = in.Alias, in.Seed
				c.Gateway, c.DB = w.To(in, RoleGateway), w.To(in, RoleDB)
				return &c
			}},
		{Role: roles.Role{Name: RoleRouter, Short: "Production router: picks a dyno per order (random, round-robin, least-conn, p2c)",
			New: func() roles.Config { c := router.DefaultConfig(); return &c }}, SeedOffset: 101, Regional: true,
			Links: []LinkSpec{{To: RoleDyno, Port: 10000}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Router
				c.Seed, c.Dynos = in.Seed, w.Dynos(in, in.Deferred) // a deferred router starts with its region
				if p := w.Redundancy.Readiness; p.Failures > 0 {
					// The dynos' readiness probe is the router's too: it
					// sends orders only to dynos passing it.
					c.ReadyCheck, c.ReadyFailures = p.Period, p.Failures
				}
				return &c
			},
			Rewire: func(w Wiring, in Instance, region string) (string, any, bool) {
				if in.Region != region || in.Deferred || len(w.Dynos(in, true)) == len(w.Dynos(in, false)) {
					return "", nil, false
				}
				return wire.PathDynos, w.Dynos(in, true), true
			}},
		{Role: roles.Role{Name: RoleGSLB, Short: "Global load balancer: health-checks the active region, switches to the standby",
			New: func() roles.Config { c := gslb.DefaultConfig(); return &c }}, SeedOffset: 103, Standby: true,
			Links: []LinkSpec{{To: RoleRouter, Port: 9008, Name: LinkRegionPrimary, ToRegion: RegionPrimary},
				{To: RoleRouter, Port: 9009, Name: LinkRegionStandby, ToRegion: RegionStandby}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.GSLB
				c.Seed, c.Active = in.Seed, RegionPrimary
				c.Regions = map[string]string{RegionPrimary: w.Named(LinkRegionPrimary), RegionStandby: ""}
				if !w.Instance(InRegion(RegionStandby, RoleRouter)).Deferred {
					c.Regions[RegionStandby] = w.Named(LinkRegionStandby)
				}
				return &c
			},
			Rewire: func(w Wiring, in Instance, region string) (string, any, bool) {
				if region != RegionStandby || !w.Instance(InRegion(RegionStandby, RoleRouter)).Deferred {
					return "", nil, false
				}
				return wire.PathGSLBRegions + RegionStandby, wire.GSLBRegion{URL: w.Named(LinkRegionStandby)}, true
			}},
		{Role: roles.Role{Name: RoleEdge, Short: "Edge router: forwards orders to production, fails over to capture",
			New: func() roles.Config { c := edge.DefaultConfig(); return &c }}, SeedOffset: 102,
			Links: []LinkSpec{{To: RoleProduction, Port: 9003}, {To: RoleCapture, Port: 9004}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Edge
				c.Seed = in.Seed
				c.Production, c.Capture = w.To(in, RoleProduction), w.To(in, RoleCapture)
				return &c
			}},
		{Role: roles.Role{Name: RoleReplayer, Short: "Replays captured orders to production with their original request id",
			New: func() roles.Config { c := replayer.DefaultConfig(); return &c }}, Store: "replayer.sqlite",
			Links: []LinkSpec{{To: RoleProduction, Port: 9005}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Replayer
				c.Store = w.Store(in)
				c.Capture, c.Production = w.Direct(RoleCapture), w.To(in, RoleProduction)
				return &c
			}},
		{Role: roles.Role{Name: RoleReconciler, Short: "Finds or makes the charge of every gateway-down order",
			New: func() roles.Config { c := reconciler.DefaultConfig(); return &c }}, Store: "reconciler.sqlite",
			Links: []LinkSpec{{To: RoleGateway, Port: 9006}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Reconciler
				c.Store = w.Store(in)
				c.DB, c.Gateway = w.Direct(RoleDB), w.To(in, RoleGateway)
				return &c
			}},
	}
}

// DefaultConfigs are every component's defaults.
func DefaultConfigs() Configs {
	return Configs{
		Edge: edge.DefaultConfig(), Router: router.DefaultConfig(), Dyno: dyno.DefaultConfig(),
		Gateway: gateway.DefaultConfig(), DB: db.DefaultConfig(), Capture: capture.DefaultConfig(),
		Replayer: replayer.DefaultConfig(), Reconciler: reconciler.DefaultConfig(), GSLB: gslb.DefaultConfig(),
	}
}
