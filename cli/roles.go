package cli

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

// serveRoles lists every component `paydrill serve` can run.
func serveRoles() []roles.Role {
	return []roles.Role{
		{Name: "edge", Short: "Edge router: forwards orders to production, fails over to capture",
			New: func() roles.Config { c := edge.DefaultConfig(); return &c }},
		{Name: "router", Short: "Production router: picks a dyno per order (random, round-robin, least-conn, p2c)",
			New: func() roles.Config { c := router.DefaultConfig(); return &c }},
		{Name: "dyno", Short: "One app dyno: workers, backlog, de-dup, charge with timeout, save",
			New: func() roles.Config { c := dyno.DefaultConfig(); return &c }},
		{Name: "gateway", Short: "Payment gateway: the ledger of charges, the ground truth for money",
			New: func() roles.Config { c := gateway.DefaultConfig(); return &c }},
		{Name: "db", Short: "Production order store shared by the dynos (request id unique)",
			New: func() roles.Config { c := db.DefaultConfig(); return &c }},
		{Name: "capture", Short: "Failover capture service: risk check, durable raw request, production-shaped answer",
			New: func() roles.Config { c := capture.DefaultConfig(); return &c }},
		{Name: "replayer", Short: "Replays captured orders to production with their original request id",
			New: func() roles.Config { c := replayer.DefaultConfig(); return &c }},
		{Name: "reconciler", Short: "Finds or makes the charge of every gateway-down order",
			New: func() roles.Config { c := reconciler.DefaultConfig(); return &c }},
	}
}
