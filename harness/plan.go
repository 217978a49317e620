package harness

import (
	"slices"
	"sort"
	"time"

	"paydrill/harness/fault"
	"paydrill/harness/load"
	"paydrill/harness/topology"
	"paydrill/scenarios"
)

// BackupFile is the file name, beside the stores, of the last backup of
// the primary db, which a cold standby's db restores.
const BackupFile = "backup.ndjson"

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

	// Component configs in wall time; the topology fills in addresses,
	// stores, names and per-instance seeds.
	topology.Configs
	// ReplayAt, when set, is the wall offset from the load's start at which
	// the harness tells the replayer to replay (replayer mode "at").
	ReplayAt time.Duration

	Load   load.Plan
	Faults []fault.Plan
	// A link passes through a toxiproxy relay when a fault of Faults
	// names it, when it is one of AlsoProxied (each dyno's link by its
	// own name, router->dyno[i]), or always with ProxyEvery (--proxy-all).
	// Every other link is wired directly, which costs the machine less
	// per order. Proxied lists them.
	AlsoProxied []string
	ProxyEvery  bool
	// Roles are the system's roles; nil: topology.Roles().
	Roles []topology.Role

	// With a standby region (Configs.Standby): the regions' settings and
	// the drill, in model time (the drill runs in model time), the
	// standby's dyno count, and how often (wall) a cold standby's backup
	// of the primary db is taken.
	Regions      scenarios.Regions
	Drill        scenarios.Drill
	StandbyDynos int
	BackupEvery  time.Duration

	SettleTimeout time.Duration // wall
	SettleQuiet   time.Duration // wall
	RTOWindow     time.Duration // model
}

// Topology is the plan's system as data, which a runtime realises.
func (p *Plan) Topology() *topology.Topology {
	return topology.New(topology.Spec{RunID: p.RunID, Seed: p.Seed, Dynos: p.Dynos, Configs: p.Configs, Proxied: p.Proxied(), Roles: p.Roles})
}

// AllLinks lists every link of a system of n dynos, sorted.
func AllLinks(n int) []string {
	var out []string
	for _, l := range topology.New(topology.Spec{Dynos: n}).Links {
		out = append(out, l.Name)
	}
	sort.Strings(out)
	return out
}

// links are every link of the plan's system.
func (p *Plan) links() []topology.Link {
	return topology.New(topology.Spec{Dynos: p.Dynos, Roles: p.Roles, Configs: topology.Configs{Standby: p.Standby}}).Links
}

// faultedLinks are the links the plan's faults name, a fanned-out link's
// (router->dyno) each separately, sorted: the links that need a relay.
func (p *Plan) faultedLinks() []string {
	links := p.links()
	set := map[string]bool{}
	for _, f := range p.Faults {
		if fault.IsContainer(f.Toxic) || fault.IsKubernetes(f.Toxic) || f.Link == "" { // applied by the runtime: no relay
			continue
		}
		for _, l := range links {
			if slices.Contains(l.Names(), f.Link) {
				set[l.Name] = true
			}
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
	var out []string
	if p.ProxyEvery {
		for _, l := range p.links() {
			out = append(out, l.Name)
		}
	}
	out = append(append(out, p.faultedLinks()...), p.AlsoProxied...)
	sort.Strings(out)
	return slices.Compact(out)
}

// Proxies says whether link passes through a toxiproxy relay in this
// plan; every other link is wired directly.
func (p *Plan) Proxies(link string) bool {
	_, found := slices.BinarySearch(p.Proxied(), link)
	return found
}

// ProxiedSummary lists the proxied links for a person, sorted: a
// fanned-out link (router->dyno) as one name when all of its links are
// proxied.
func ProxiedSummary(proxied []string, dynos int) []string {
	is := map[string]bool{}
	for _, l := range proxied {
		is[l] = true
	}
	group := map[string]string{} // link → its fanned-out group
	whole := map[string]bool{}   // group → every one of its links proxied
	for _, l := range topology.New(topology.Spec{Dynos: dynos}).Links {
		if l.Group == "" {
			continue
		}
		group[l.Name] = l.Group
		if w, seen := whole[l.Group]; !seen || w {
			whole[l.Group] = is[l.Name]
		}
	}
	out := []string{}
	for _, l := range proxied {
		if !whole[group[l]] {
			out = append(out, l)
		}
	}
	for g, w := range whole {
		if w {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}
