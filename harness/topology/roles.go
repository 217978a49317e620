package topology

import (
	"paydrill/sim/capture"
	"paydrill/sim/db"
	"paydrill/sim/dyno"
	"paydrill/sim/edge"
	"paydrill/sim/gateway"
	"paydrill/sim/reconciler"
	"paydrill/sim/replayer"
	"paydrill/sim/roles"
	"paydrill/sim/router"
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
)

// DynoName names the i-th dyno (1-based): "dyno[i]".
func DynoName(i int) string { return IndexedName(RoleDyno, i) }

// DynoLink names the router's link to the i-th dyno: "router->dyno[i]".
func DynoLink(i int) string { return LinkName(RoleRouter, DynoName(i)) }

// DynoLinks is the name a fault gives every dyno's link at once.
const DynoLinks = RoleRouter + "->" + RoleDyno

// defaultRoles is DESIGN.md's system, in boot order: the stores, the
// dynos over them, the router over the dynos, the edge over the router
// and capture, then the replayer and reconciler.
func defaultRoles() []Role {
	return []Role{
		{Role: roles.Role{Name: RoleGateway, Short: "Payment gateway: the ledger of charges, the ground truth for money",
			New: func() roles.Config { c := gateway.DefaultConfig(); return &c }}, Store: "gateway.sqlite", SeedOffset: 201,
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Gateway
				c.Store, c.Seed = w.Store(in), in.Seed
				return &c
			}},
		{Role: roles.Role{Name: RoleDB, Short: "Production order store shared by the dynos (request id unique)",
			New: func() roles.Config { c := db.DefaultConfig(); return &c }}, Store: "orders.sqlite",
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.DB
				c.Store = w.Store(in)
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
			New: func() roles.Config { c := dyno.DefaultConfig(); return &c }}, Many: true,
			Links: []LinkSpec{{To: RoleGateway, Port: 9001}, {To: RoleDB, Port: 9002}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Dyno
				c.Name, c.Seed = in.Alias, in.Seed
				c.Gateway, c.DB = w.Over(in.Role, RoleGateway), w.Over(in.Role, RoleDB)
				return &c
			}},
		{Role: roles.Role{Name: RoleRouter, Short: "Production router: picks a dyno per order (random, round-robin, least-conn, p2c)",
			New: func() roles.Config { c := router.DefaultConfig(); return &c }}, SeedOffset: 101,
			Links: []LinkSpec{{To: RoleDyno, Port: 10000}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Router
				c.Seed, c.Dynos = in.Seed, nil
				for _, d := range w.Instances(RoleDyno) {
					c.Dynos = append(c.Dynos, w.Over(in.Role, d.Name))
				}
				return &c
			}},
		{Role: roles.Role{Name: RoleEdge, Short: "Edge router: forwards orders to production, fails over to capture",
			New: func() roles.Config { c := edge.DefaultConfig(); return &c }}, SeedOffset: 102,
			Links: []LinkSpec{{To: RoleRouter, Port: 9003}, {To: RoleCapture, Port: 9004}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Edge
				c.Seed = in.Seed
				c.Production, c.Capture = w.Over(in.Role, RoleRouter), w.Over(in.Role, RoleCapture)
				return &c
			}},
		{Role: roles.Role{Name: RoleReplayer, Short: "Replays captured orders to production with their original request id",
			New: func() roles.Config { c := replayer.DefaultConfig(); return &c }}, Store: "replayer.sqlite",
			Links: []LinkSpec{{To: RoleRouter, Port: 9005}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Replayer
				c.Store = w.Store(in)
				c.Capture, c.Production = w.Direct(RoleCapture), w.Over(in.Role, RoleRouter)
				return &c
			}},
		{Role: roles.Role{Name: RoleReconciler, Short: "Finds or makes the charge of every gateway-down order",
			New: func() roles.Config { c := reconciler.DefaultConfig(); return &c }}, Store: "reconciler.sqlite",
			Links: []LinkSpec{{To: RoleGateway, Port: 9006}},
			Config: func(w Wiring, in Instance) roles.Config {
				c := w.Reconciler
				c.Store = w.Store(in)
				c.DB, c.Gateway = w.Direct(RoleDB), w.Over(in.Role, RoleGateway)
				return &c
			}},
	}
}

// DefaultConfigs are every component's defaults.
func DefaultConfigs() Configs {
	return Configs{
		Edge: edge.DefaultConfig(), Router: router.DefaultConfig(), Dyno: dyno.DefaultConfig(),
		Gateway: gateway.DefaultConfig(), DB: db.DefaultConfig(), Capture: capture.DefaultConfig(),
		Replayer: replayer.DefaultConfig(), Reconciler: reconciler.DefaultConfig(),
	}
}
