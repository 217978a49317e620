// Package topology is the simulated system as data, written once: every
// component instance (its role, index, name, seed and store, with room for
// a region and a zone), every link between them (its name, whether it
// passes through a toxiproxy relay, the relay's port inside a container
// network), and how each instance's configuration is wired to its peers.
//
// A runtime realises a Topology (harness/embedded in this process,
// harness/docker in containers): it walks Instances in order, asks Config
// for each one's configuration given the addresses it has for peers and
// stores, and creates a relay for every proxied link. It never decides on
// its own which components exist, how they connect or which seed each
// gets; adding a component is a change to the Roles table only.
package topology

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"paydrill/sim/roles"
)

// Spec is what a topology is built from.
type Spec struct {
	RunID string // labels what a runtime creates
	Seed  int64  // the scenario's seed: every instance's seed derives from it
	Dynos int
	Configs
	// Proxied lists the links that pass through a toxiproxy relay (see
	// Link.Proxied); nil: none.
	Proxied []string
	// Roles are the system's roles in boot order; nil: Roles(). A test
	// adds a component to every runtime by adding a role here.
	Roles []Role
}

// Topology is one system: its instances in boot order (every instance's
// peers come before it) and its links.
type Topology struct {
	RunID     string
	Seed      int64
	Instances []Instance
	Links     []Link
	configs   Configs
	roles     []Role
	byName    map[string]int // Instances' index by name, built on first use
}

// The regions of a system with a standby region (Configs.Standby.Mode
// not "" or "none"). A system without one has a single unnamed region.
const (
	RegionPrimary = "primary"
	RegionStandby = "standby"
)

// Instance is one running component.
type Instance struct {
	Role      string // a Roles name: "dyno"
	Component string // what it runs: its role's Component, or the role's name
	Index     int    // 1-based among its role's instances when the role has several; 0 otherwise
	// Region is RegionPrimary or RegionStandby for an instance of a
	// regional role (router, dynos, db) of a system with a standby
	// region; "" otherwise.
	Region string
	Zone   string // ""
	// Name is how the harness names it: System.Components' key and a
	// container fault's target ("gateway", "dyno[2]", "standby.dyno[2]").
	Name string
	// Alias is its host name on a container network and the name it
	// reports itself by ("gateway", "dyno-2", "standby-dyno-2").
	Alias string
	// Seed seeds its randomness; 0 for a component that draws none.
	Seed int64
	// Store is its store's file name ("gateway.sqlite"); "" when stateless.
	Store string
	// Deferred: the instance does not run at boot but when its region is
	// provisioned (a warm standby's dynos; every instance of a cold one).
	Deferred bool
}

// Link is one connection a fault may break, from the instances of a role
// to one instance.
type Link struct {
	Name string // "dyno->gateway", "router->dyno[2]", "region:primary"
	// Group is the name a fault gives every link of a fanned-out link at
	// once ("router->dyno"); "" for a link of its own.
	Group string
	// Also are further names a fault gives this link with others: a
	// region's outage ("region:primary") cuts its gslb link and the
	// replication link.
	Also []string
	From string // the instances that use it: a role, prefixed by its region ("standby.dyno")
	To   string // the instance it reaches (an Instance.Name)
	// Proxied: the link passes through a toxiproxy relay (a fault names
	// it, or every link is proxied); otherwise it is wired directly.
	Proxied bool
	// Port is the relay's port inside a container network.
	Port int
	// Deferred: the link is created when its region is provisioned (it
	// leaves or reaches a deferred instance).
	Deferred bool
}

// Names are every name a fault may give the link.
func (l Link) Names() []string {
	out := []string{l.Name}
	if l.Group != "" {
		out = append(out, l.Group)
	}
	return append(out, l.Also...)
}

// Addresses is how a runtime reaches things, given to Config.
type Addresses interface {
	// Link is the URL a component uses to reach link.To over link: a
	// relay's address when link.Proxied, else the instance's own.
	Link(link Link) string
	// Direct is the URL of an instance reached without a link.
	Direct(inst Instance) string
	// Store is the path of inst's store.
	Store(inst Instance) string
}

// Role is one kind of component: how many instances it has, what it is
// linked to, and how an instance's configuration is wired.
type Role struct {
	// Role is its name, one line about it and its defaults: what
	// `paydrill serve ROLE` runs.
	roles.Role
	// Component is the component an instance runs (`paydrill serve
	// COMPONENT`); "" is Name. A new kind of dyno runs "dyno".
	Component string
	// Store is the file name of an instance's store; "" when stateless.
	Store string
	// Many: one instance per dyno of the system, named role[i]; otherwise
	// one instance named role.
	Many bool
	// Regional: a region is made of the instances of the regional roles
	// (router, dynos, db); with a standby region each has a second set
	// named "standby.ROLE". Other roles stand outside the regions.
	Regional bool
	// Standby: the role exists only in a system with a standby region
	// (the gslb).
	Standby bool
	// SeedOffset: an instance's seed is Seed×1000 + SeedOffset + Index
	// (+500 in the standby region); 0 with Many=false: no seed.
	SeedOffset int64
	// Links are the links from this role's instances, by the role they
	// reach; a link to a role with Many fans out to each instance.
	Links []LinkSpec
	// Config wires inst's configuration.
	Config func(w Wiring, inst Instance) roles.Config
	// Rewire, when set, tells a running instance about the instances of
	// region that have just been provisioned: ok false when it has nothing
	// to learn, else an HTTP PUT of body to path.
	Rewire func(w Wiring, inst Instance, region string) (path string, body any, ok bool)
}

// Call is an HTTP PUT a runtime makes to a running instance once a region
// has been provisioned (see Topology.Rewire).
type Call struct {
	Instance string // an Instance.Name
	Path     string
	Body     any
}

// LinkSpec is a link a role's instances use.
type LinkSpec struct {
	// To is a role name, or RoleProduction: the gslb in a system with a
	// standby region, else the router.
	To   string
	Port int // relay port in a container network; a fanned-out link uses Port+i
	// Name, when set, names the link instead of FROM->TO.
	Name string
	// FromRegion: only the instances of this region have the link.
	FromRegion string
	// ToRegion: the link reaches the To role's instance in this region;
	// "" is the same region as the instance (the primary from outside
	// the regions).
	ToRegion string
	// Also are further names of the link (Link.Also).
	Also []string
	// Standby: the link exists only with a standby region.
	Standby bool
	// Follows: the link exists only when the standby's db follows the
	// primary's (hot and warm; a cold standby restores a backup).
	Follows bool
}

// Wiring is what a Role's Config sees: the system's configs, and where
// each peer is.
type Wiring struct {
	Configs
	t    *Topology
	addr Addresses
}

// To is the URL inst reaches role over its link: the role's instance in
// inst's region (or the primary's, from outside the regions).
func (w Wiring) To(inst Instance, role string) string {
	from := RegionPrefix(inst.Region) + inst.Role
	target := w.t.resolve(role)
	for _, l := range w.t.Links {
		if l.From == from && w.t.Instance(l.To).Role == target && !strings.Contains(l.To, "[") {
			return w.addr.Link(l)
		}
	}
	panic(fmt.Sprintf("topology: no link from %s to %s", from, role)) // a Roles table bug
}

// Named is the URL over the link named name.
func (w Wiring) Named(name string) string {
	for _, l := range w.t.Links {
		if l.Name == name {
			return w.addr.Link(l)
		}
	}
	panic(fmt.Sprintf("topology: no link %s", name)) // a Roles table bug
}

// Dynos are the URLs inst (a router) reaches its region's running dynos
// by, in order; a deferred dyno is left out until its region is
// provisioned.
func (w Wiring) Dynos(inst Instance, withDeferred bool) []string {
	from := RegionPrefix(inst.Region) + inst.Role
	var out []string
	for _, l := range w.t.Links {
		if l.From == from && w.t.Instance(l.To).Role == RoleDyno && (withDeferred || !l.Deferred) {
			out = append(out, w.addr.Link(l))
		}
	}
	return out
}

// Direct is the URL of the instance named name, reached without a link.
func (w Wiring) Direct(name string) string { return w.addr.Direct(w.t.Instance(name)) }

// Store is the path of inst's store.
func (w Wiring) Store(inst Instance) string { return w.addr.Store(inst) }

// Instances are the instances of role (in the primary region).
func (w Wiring) Instances(role string) []Instance { return w.t.OfRole(role) }

// Instance is the instance named name.
func (w Wiring) Instance(name string) Instance { return w.t.Instance(name) }

// HasStandby says whether the system has a standby region.
func (w Wiring) HasStandby() bool { return w.t.HasStandby() }

// registry is every role, in boot order.
var registry = defaultRoles()

// Roles lists every role of DESIGN.md's system, in boot order.
func Roles() []Role { return slices.Clone(registry) }

// RegionPrefix is what an instance's name starts with in region:
// "standby." in the standby region, "" elsewhere.
func RegionPrefix(region string) string {
	if region == RegionStandby {
		return RegionStandby + "."
	}
	return ""
}

// New builds the topology of spec.
func New(spec Spec) *Topology {
	t := &Topology{RunID: spec.RunID, Seed: spec.Seed, configs: spec.Configs, roles: spec.Roles}
	if t.roles == nil {
		t.roles = registry
	}
	standby := t.HasStandby()
	mode := spec.Standby.Mode
	proxied := map[string]bool{}
	for _, l := range spec.Proxied {
		proxied[l] = true
	}
	regionsOf := func(r Role) []string {
		if r.Regional && standby {
			return []string{RegionPrimary, RegionStandby}
		}
		return []string{""}
	}
	count := func(r Role, region string) int {
		switch {
		case !r.Many:
			return 1
		case region == RegionStandby && spec.Standby.Dynos > 0:
			return spec.Standby.Dynos
		}
		return spec.Dynos
	}
	for _, r := range t.roles {
		if r.Standby && !standby {
			continue
		}
		for _, region := range regionsOf(r) {
			pre := RegionPrefix(region)
			aliasPre := strings.ReplaceAll(pre, ".", "-")
			for i := 1; i <= count(r, region); i++ {
				inst := Instance{Role: r.Name, Component: cmp.Or(r.Component, r.Name), Region: region,
					Name: pre + r.Name, Alias: aliasPre + r.Name, Store: r.Store}
				if r.Store != "" && pre != "" {
					inst.Store = aliasPre + r.Store
				}
				if r.Many {
					inst.Index = i
					inst.Name = pre + IndexedName(r.Name, i)
					inst.Alias = aliasPre + r.Name + "-" + strconv.Itoa(i)
				}
				if r.Many || r.SeedOffset != 0 {
					inst.Seed = spec.Seed*1000 + r.SeedOffset + int64(inst.Index)
					if region == RegionStandby {
						inst.Seed += 500
					}
				}
				inst.Deferred = region == RegionStandby && (mode == "cold" || mode == "warm" && r.Many)
				t.Instances = append(t.Instances, inst)
				t.byName = nil
			}
		}
	}
	for _, r := range t.roles {
		if r.Standby && !standby {
			continue
		}
		for _, region := range regionsOf(r) {
			from := RegionPrefix(region) + r.Name
			for _, ls := range r.Links {
				if ls.Standby && !standby || ls.Follows && mode == "cold" || ls.FromRegion != "" && ls.FromRegion != region {
					continue
				}
				to, ok := t.role(t.resolve(ls.To))
				if !ok {
					panic(fmt.Sprintf("topology: role %s links to unknown role %s", r.Name, ls.To))
				}
				toRegion := ""
				if to.Regional && standby {
					toRegion = cmp.Or(ls.ToRegion, region, RegionPrimary)
				}
				if toRegion == RegionStandby && !standby {
					continue
				}
				pre := RegionPrefix(toRegion)
				// The standby region's relays need ports of their own.
				port, fanBase := ls.Port, ls.Port
				if region == RegionStandby && ls.Name == "" {
					port, fanBase = ls.Port+standbyPortOffset, ls.Port+count(to, RegionPrimary)
				}
				if !to.Many {
					toName := pre + to.Name
					name := cmp.Or(ls.Name, LinkName(from, toName))
					deferred := t.Instance(toName).Deferred || t.fromDeferred(r, region)
					t.Links = append(t.Links, Link{Name: name, Also: ls.Also, From: from, To: toName,
						Proxied: proxied[name] || anyProxied(proxied, ls.Also), Port: port, Deferred: deferred})
					continue
				}
				group := LinkName(from, pre+to.Name)
				for i := 1; i <= count(to, toRegion); i++ {
					toName := pre + IndexedName(to.Name, i)
					name := LinkName(from, toName)
					deferred := t.Instance(toName).Deferred || t.fromDeferred(r, region)
					t.Links = append(t.Links, Link{Name: name, Group: group, Also: ls.Also, From: from, To: toName,
						Proxied: proxied[name], Port: fanBase + i, Deferred: deferred})
				}
			}
		}
	}
	return t
}

// standbyPortOffset is added to the relay port of a standby region's
// link; a fanned-out one starts after the primary's.
const standbyPortOffset = 50

// anyProxied says whether a fault names the link by one of names.
func anyProxied(proxied map[string]bool, names []string) bool {
	for _, n := range names {
		if proxied[n] {
			return true
		}
	}
	return false
}

// fromDeferred says whether every instance of r in region is deferred.
func (t *Topology) fromDeferred(r Role, region string) bool {
	for _, in := range t.Instances {
		if in.Role == r.Name && in.Region == region && !in.Deferred {
			return false
		}
	}
	return true
}

// resolve turns RoleProduction into the role production is reached by.
func (t *Topology) resolve(role string) string {
	if role != RoleProduction {
		return role
	}
	if t.HasStandby() {
		return RoleGSLB
	}
	return RoleRouter
}

// Redundancy is the dynos' redundancy settings.
func (t *Topology) Redundancy() Redundancy { return t.configs.Redundancy }

// HasStandby says whether the system has a standby region.
func (t *Topology) HasStandby() bool {
	m := t.configs.Standby.Mode
	return m != "" && m != "none"
}

// Config is inst's configuration, wired to its peers and store through
// addr; it can be built (roles.Config.Build) or sent as JSON.
func (t *Topology) Config(inst Instance, addr Addresses) roles.Config {
	r, ok := t.role(inst.Role)
	if !ok {
		panic(fmt.Sprintf("topology: instance %s of unknown role %s", inst.Name, inst.Role))
	}
	return r.Config(Wiring{Configs: t.configs, t: t, addr: addr}, inst)
}

func (t *Topology) role(name string) (Role, bool) {
	for _, r := range t.roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// Instance is the instance named name (the zero Instance when none is).
func (t *Topology) Instance(name string) Instance {
	if t.byName == nil {
		t.byName = make(map[string]int, len(t.Instances))
		for i, in := range t.Instances {
			t.byName[in.Name] = i
		}
	}
	if i, ok := t.byName[name]; ok {
		return t.Instances[i]
	}
	return Instance{}
}

// OfRole lists the instances of role outside the standby region (the
// primary's, or the only ones).
func (t *Topology) OfRole(role string) []Instance {
	var out []Instance
	for _, in := range t.Instances {
		if in.Role == role && in.Region != RegionStandby {
			out = append(out, in)
		}
	}
	return out
}

// InRegion lists the instances of region (RegionPrimary, RegionStandby).
func (t *Topology) InRegion(region string) []Instance {
	var out []Instance
	for _, in := range t.Instances {
		if in.Region == region {
			out = append(out, in)
		}
	}
	return out
}

// Dynos is the number of dyno instances.
func (t *Topology) Dynos() int { return len(t.OfRole(RoleDyno)) }

// Deferred lists what is started when region is provisioned: its
// deferred instances (in boot order) and the links that leave or reach
// them.
func (t *Topology) Deferred(region string) ([]Instance, []Link) {
	var ins []Instance
	names := map[string]bool{}
	for _, in := range t.Instances {
		if in.Deferred && in.Region == region {
			ins = append(ins, in)
			names[in.Name] = true
		}
	}
	var links []Link
	for _, l := range t.Links {
		if l.Deferred && (names[l.To] || strings.HasPrefix(l.From, RegionPrefix(region))) {
			links = append(links, l)
		}
	}
	return ins, links
}

// Rewire lists what the running instances must be told once region's
// deferred instances run (a warm standby router learns its dynos; the
// gslb learns a cold standby's router), in boot order.
func (t *Topology) Rewire(region string, addr Addresses) []Call {
	w := Wiring{Configs: t.configs, t: t, addr: addr}
	var out []Call
	for _, in := range t.Instances {
		r, _ := t.role(in.Role)
		if r.Rewire == nil {
			continue
		}
		if path, body, ok := r.Rewire(w, in, region); ok {
			out = append(out, Call{Instance: in.Name, Path: path, Body: body})
		}
	}
	return out
}

// Proxied lists the links that pass through a relay, in Links' order.
func (t *Topology) Proxied() []Link {
	var out []Link
	for _, l := range t.Links {
		if l.Proxied {
			out = append(out, l)
		}
	}
	return out
}

// LinkName names the link from role to instance: "dyno->gateway".
func LinkName(from, to string) string { return from + "->" + to }

// IndexedName names the i-th (1-based) instance of a role with many:
// "dyno[2]".
func IndexedName(role string, i int) string { return role + "[" + strconv.Itoa(i) + "]" }

// SplitIndexed splits "dyno[2]" or "router->dyno[2]" into its base and
// index; ok is false for a name without a valid index.
func SplitIndexed(name string) (base string, i int, ok bool) {
	rest, found := strings.CutSuffix(name, "]")
	open := strings.LastIndexByte(rest, '[')
	if !found || open < 0 {
		return name, 0, false
	}
	i, err := strconv.Atoi(rest[open+1:])
	if err != nil || i < 1 {
		return name, 0, false
	}
	return rest[:open], i, true
}
