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
}

// Instance is one running component.
type Instance struct {
	Role      string // a Roles name: "dyno"
	Component string // what it runs: its role's Component, or the role's name
	Index     int    // 1-based among its role's instances when the role has several; 0 otherwise
	Region    string // "" in a single-region system
	Zone      string // ""
	// Name is how the harness names it: System.Components' key and a
	// container fault's target ("gateway", "dyno[2]").
	Name string
	// Alias is its host name on a container network and the name it
	// reports itself by ("gateway", "dyno-2").
	Alias string
	// Seed seeds its randomness; 0 for a component that draws none.
	Seed int64
	// Store is its store's file name ("gateway.sqlite"); "" when stateless.
	Store string
}

// Link is one connection a fault may break, from the instances of a role
// to one instance.
type Link struct {
	Name string // "dyno->gateway", "router->dyno[2]"
	// Group is the name a fault gives every link of a fanned-out link at
	// once ("router->dyno"); "" for a link of its own.
	Group string
	From  string // the role whose instances use it
	To    string // the instance it reaches (an Instance.Name)
	// Proxied: the link passes through a toxiproxy relay (a fault names
	// it, or every link is proxied); otherwise it is wired directly.
	Proxied bool
	// Port is the relay's port inside a container network.
	Port int
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
	// SeedOffset: an instance's seed is Seed×1000 + SeedOffset + Index;
	// 0 with Many=false: no seed.
	SeedOffset int64
	// Links are the links from this role's instances, by the role they
	// reach; a link to a role with Many fans out to each instance.
	Links []LinkSpec
	// Config wires inst's configuration.
	Config func(w Wiring, inst Instance) roles.Config
}

// LinkSpec is a link a role's instances use.
type LinkSpec struct {
	To   string // a role name
	Port int    // relay port in a container network; a fanned-out link uses Port+i
}

// Wiring is what a Role's Config sees: the system's configs, and where
// each peer is.
type Wiring struct {
	Configs
	t    *Topology
	addr Addresses
}

// Over is the URL of the instance named to over the link from this role.
func (w Wiring) Over(from, to string) string {
	name := LinkName(from, to)
	for _, l := range w.t.Links {
		if l.Name == name {
			return w.addr.Link(l)
		}
	}
	panic(fmt.Sprintf("topology: no link %s", name)) // a Roles table bug
}

// Direct is the URL of the instance named name, reached without a link.
func (w Wiring) Direct(name string) string { return w.addr.Direct(w.t.Instance(name)) }

// Store is the path of inst's store.
func (w Wiring) Store(inst Instance) string { return w.addr.Store(inst) }

// Instances are the instances of role.
func (w Wiring) Instances(role string) []Instance { return w.t.OfRole(role) }

// registry is every role, in boot order.
var registry = defaultRoles()

// Roles lists every role of DESIGN.md's system, in boot order.
func Roles() []Role { return slices.Clone(registry) }

// New builds the topology of spec.
func New(spec Spec) *Topology {
	t := &Topology{RunID: spec.RunID, Seed: spec.Seed, configs: spec.Configs, roles: spec.Roles}
	if t.roles == nil {
		t.roles = registry
	}
	proxied := map[string]bool{}
	for _, l := range spec.Proxied {
		proxied[l] = true
	}
	count := map[string]int{}
	for _, r := range t.roles {
		n := 1
		if r.Many {
			n = spec.Dynos
		}
		count[r.Name] = n
		for i := 1; i <= n; i++ {
			inst := Instance{Role: r.Name, Component: cmp.Or(r.Component, r.Name), Name: r.Name, Alias: r.Name, Store: r.Store}
			if r.Many {
				inst.Index = i
				inst.Name = IndexedName(r.Name, i)
				inst.Alias = r.Name + "-" + strconv.Itoa(i)
			}
			if r.Many || r.SeedOffset != 0 {
				inst.Seed = spec.Seed*1000 + r.SeedOffset + int64(inst.Index)
			}
			t.Instances = append(t.Instances, inst)
		}
	}
	for _, r := range t.roles {
		for _, ls := range r.Links {
			to, ok := t.role(ls.To)
			if !ok {
				panic(fmt.Sprintf("topology: role %s links to unknown role %s", r.Name, ls.To))
			}
			if !to.Many {
				name := LinkName(r.Name, to.Name)
				t.Links = append(t.Links, Link{Name: name, From: r.Name, To: to.Name, Proxied: proxied[name], Port: ls.Port})
				continue
			}
			for i := 1; i <= count[to.Name]; i++ {
				name := LinkName(r.Name, IndexedName(to.Name, i))
				t.Links = append(t.Links, Link{Name: name, Group: LinkName(r.Name, to.Name), From: r.Name,
					To: IndexedName(to.Name, i), Proxied: proxied[name], Port: ls.Port + i})
			}
		}
	}
	return t
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
	for _, in := range t.Instances {
		if in.Name == name {
			return in
		}
	}
	return Instance{}
}

// OfRole lists the instances of role.
func (t *Topology) OfRole(role string) []Instance {
	var out []Instance
	for _, in := range t.Instances {
		if in.Role == role {
			out = append(out, in)
		}
	}
	return out
}

// Dynos is the number of dyno instances.
func (t *Topology) Dynos() int { return len(t.OfRole(RoleDyno)) }

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
