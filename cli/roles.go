package cli

import (
	"paydrill/harness/topology"
	"paydrill/sim/roles"
)

// serveRoles lists every component `paydrill serve` can run: the roles of
// the topology.
func serveRoles() []roles.Role {
	var out []roles.Role
	for _, r := range topology.Roles() {
		out = append(out, r.Role)
	}
	return out
}
