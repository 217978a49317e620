package harness

import (
	"paydrill/harness/load"
	"paydrill/harness/topology"
	"paydrill/scenarios"
)

// What a system costs this process in open files on the embedded runtime,
// where every component, proxy and connection is a descriptor here (both
// ends of a loopback connection are). An overloaded run must turn into
// orders the load could not send (harness.saturated) and refusals, never
// into "too many open files" with accept loops failing: so validate
// refuses a system that cannot fit, and the load's in-flight orders are
// capped by what is left (load.MaxInFlight).
const (
	// fdsBase is what a system holds whatever its size: the stores, the
	// other components' listeners and their idle connections, toxiproxy.
	fdsBase = 256
)

// fdsPerDyno is what one dyno of w workers holds with every worker busy:
// its listener, both ends of the router's connection to it, and both ends
// of each worker's connections to the db and the gateway; relays double
// the connections.
func fdsPerDyno(workers int, proxied bool) int {
	n := 1 + 2 + 4*workers
	if proxied {
		n = 2 + 2*(2+4*workers)
	}
	return n
}

// systemFDs is what p's system holds on the embedded runtime with every
// worker busy.
func systemFDs(dynos, workers int, proxied func(i int) bool) int {
	n := fdsBase
	for i := 1; i <= dynos; i++ {
		n += fdsPerDyno(workers, proxied(i))
	}
	return n
}

// CheckCapacity says whether this process can hold s's system on the
// embedded runtime: its descriptors with every worker busy, plus room for
// the load's orders in flight, within the open-files limit. The error
// names the key and how many dynos of this kind fit.
func CheckCapacity(s *scenarios.Scenario) error {
	limit := load.FileLimit()
	if limit <= 0 {
		return nil
	}
	d := s.System.Dynos
	proxiedDynos := false
	for _, f := range s.Faults {
		proxiedDynos = proxiedDynos || f.Link == topology.DynoLinks
	}
	per := fdsPerDyno(d.Workers, proxiedDynos)
	// Room for at least a second of the load in flight at full rate.
	reserve := 2 * load.FDsPerOrder * min(max(int(s.Load.Rate)+10, 100), 2000)
	need := fdsBase + d.Count*per + reserve
	if need <= limit {
		return nil
	}
	fit := max((limit-fdsBase-reserve)/per, 0)
	return (s.ErrorAt("system.dynos.count",
		"%d dynos of %d workers need about %d open files in this process (%d each with every worker busy, and room for the "+
			"load), and it may open %d (ulimit -n, raised to its hard limit): at most %d dynos of this kind fit here",
		d.Count, d.Workers, need, per, limit, fit))
}
