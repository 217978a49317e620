package topology

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"paydrill/sim/wire"
)

// TestTopologyOfThreeDynos: DESIGN.md's system of 3 dynos, with the seeds
// every runtime gave each component before the topology existed (a run
// with the same seed must draw the same numbers).
func TestTopologyOfThreeDynos(t *testing.T) {
	topo := New(Spec{Seed: 7, Dynos: 3, Proxied: []string{"router->dyno[2]", "dyno->db"}})
	var names []string
	seeds := map[string]int64{}
	for _, in := range topo.Instances {
		names = append(names, in.Name)
		seeds[in.Name] = in.Seed
	}
	want := []string{"gateway", "db", "capture", "dyno[1]", "dyno[2]", "dyno[3]", "router", "edge", "replayer", "reconciler"}
	if !slices.Equal(names, want) {
		t.Errorf("instances %v; want %v, each after its peers", names, want)
	}
	for name, seed := range map[string]int64{"dyno[1]": 7001, "dyno[3]": 7003, "router": 7101, "edge": 7102, "gateway": 7201, "db": 0} {
		if seeds[name] != seed {
			t.Errorf("%s: seed %d; want %d", name, seeds[name], seed)
		}
	}
	var links, proxied []string
	for _, l := range topo.Links {
		links = append(links, l.Name)
		if l.Proxied {
			proxied = append(proxied, l.Name)
		}
	}
	wantLinks := []string{"dyno->gateway", "dyno->db", "router->dyno[1]", "router->dyno[2]", "router->dyno[3]",
		"edge->router", "edge->capture", "replayer->router", "reconciler->gateway"}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("links %v; want %v", links, wantLinks)
	}
	if !slices.Equal(proxied, []string{"dyno->db", "router->dyno[2]"}) {
		t.Errorf("proxied %v; want only what the spec proxies", proxied)
	}
	ports := map[int]string{}
	for _, l := range topo.Links {
		if prev, ok := ports[l.Port]; ok || l.Port == 0 {
			t.Errorf("%s: relay port %d (also %q): every link needs a port of its own", l.Name, l.Port, prev)
		}
		ports[l.Port] = l.Name
	}
	if l := topo.Links[3]; l.Group != DynoLinks || l.To != "dyno[2]" || l.From != RoleRouter {
		t.Errorf("router->dyno[2]: %+v; want from router to dyno[2] in group %s", l, DynoLinks)
	}
}

// addrs names every address after what it reaches.
type addrs struct{}

func (addrs) Link(l Link) string {
	if l.Proxied {
		return "http://relay/" + l.Name
	}
	return "http://" + strings.NewReplacer("[", "-", "]", "").Replace(l.To)
}
func (addrs) Direct(in Instance) string { return "http://" + in.Alias }
func (addrs) Store(in Instance) string  { return "store:" + in.Store }

// TestConfigWiresEveryPeer: each component is told the address of every
// peer it reaches, over the link's relay when it is proxied.
func TestConfigWiresEveryPeer(t *testing.T) {
	topo := New(Spec{Seed: 7, Dynos: 2, Configs: DefaultConfigs(), Proxied: []string{"router->dyno[2]", "dyno->db"}})
	cfg := func(name string) any { return topo.Config(topo.Instance(name), addrs{}) }
	for _, in := range topo.Instances {
		if err := topo.Config(in, addrs{}).Validate(); err != nil {
			t.Errorf("%s: %v", in.Name, err)
		}
	}
	for name, want := range map[string]string{
		"dyno[2]":    `{"Name":"dyno-2","Gateway":"http://gateway","DB":"http://relay/dyno->db","Seed":7002}`,
		"router":     `{"Dynos":["http://dyno-1","http://relay/router->dyno[2]"],"Seed":7101}`,
		"edge":       `{"Production":"http://router","Capture":"http://capture","Seed":7102}`,
		"replayer":   `{"Capture":"http://capture","Production":"http://router","Store":"store:replayer.sqlite"}`,
		"reconciler": `{"DB":"http://db","Gateway":"http://gateway","Store":"store:reconciler.sqlite"}`,
		"gateway":    `{"Store":"store:gateway.sqlite","Seed":7201}`,
	} {
		if got := wired(t, cfg(name), want); got != "" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

// The dynos' readiness probe is the router's readiness check (wall time
// already); without a probe the router routes blind.
func TestReadinessProbeIsTheRoutersCheck(t *testing.T) {
	c := DefaultConfigs()
	c.Redundancy.Readiness = Probe{Period: wire.Duration(400 * time.Millisecond), Failures: 2}
	topo := New(Spec{Seed: 7, Dynos: 2, Configs: c})
	if got := wired(t, topo.Config(topo.Instance("router"), addrs{}), `{"ReadyCheck":"400ms","ReadyFailures":2}`); got != "" {
		t.Errorf("router with a readiness probe: %s", got)
	}
	topo = New(Spec{Seed: 7, Dynos: 2, Configs: DefaultConfigs()})
	if got := wired(t, topo.Config(topo.Instance("router"), addrs{}), `{"ReadyCheck":"0s"}`); got != "" {
		t.Errorf("router without a probe: %s", got)
	}
}

// wired compares fields of cfg (a pointer to a config struct) with want,
// a JSON object of Go field names; it says what differs, or "".
func wired(t *testing.T, cfg any, want string) string {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal([]byte(want), &fields); err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(cfg).Elem()
	var diffs []string
	for name, w := range fields {
		f := v.FieldByName(name)
		if !f.IsValid() {
			t.Fatalf("%T has no field %s", cfg, name)
		}
		got, _ := json.Marshal(f.Interface())
		exp, _ := json.Marshal(w)
		if string(got) != string(exp) {
			diffs = append(diffs, fmt.Sprintf("%s is %s, want %s", name, got, exp))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}
