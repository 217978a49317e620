package topology

import (
	"slices"
	"strings"
	"testing"

	"paydrill/sim/db"
	"paydrill/sim/gslb"
	"paydrill/sim/router"
	"paydrill/sim/wire"
)

func standbySpec(mode string) Spec {
	c := DefaultConfigs()
	c.Standby = Standby{Mode: mode, ReplicationLag: wire.Duration(2e9), Restore: "backup.ndjson"}
	return Spec{Seed: 7, Dynos: 2, Configs: c, Proxied: []string{LinkRegionPrimary}}
}

// TestAStandbyRegionIsASecondRouterDynosAndDB: the standby region is built
// from the same table, with a gslb in front of both and the replication
// link from the standby's db to the primary's.
func TestAStandbyRegionIsASecondRouterDynosAndDB(t *testing.T) {
	topo := New(standbySpec("hot"))
	var names []string
	for _, in := range topo.Instances {
		names = append(names, in.Name)
		if in.Deferred {
			t.Errorf("%s deferred in a hot standby: everything runs", in.Name)
		}
	}
	want := []string{"gateway", "db", "standby.db", "capture", "dyno[1]", "dyno[2]", "standby.dyno[1]", "standby.dyno[2]",
		"router", "standby.router", "gslb", "edge", "replayer", "reconciler"}
	if !slices.Equal(names, want) {
		t.Errorf("instances %v; want %v", names, want)
	}
	if in := topo.Instance("standby.dyno[2]"); in.Alias != "standby-dyno-2" || in.Seed != 7502 || in.Region != RegionStandby {
		t.Errorf("standby.dyno[2]: %+v; want alias standby-dyno-2, seed 7502, region standby", in)
	}
	if in := topo.Instance("standby.db"); in.Store != "standby-orders.sqlite" {
		t.Errorf("standby.db store %q; want a store of its own", in.Store)
	}
	var links []string
	ports := map[int]string{}
	for _, l := range topo.Links {
		links = append(links, l.Name)
		if prev, ok := ports[l.Port]; ok {
			t.Errorf("%s: relay port %d is also %s's", l.Name, l.Port, prev)
		}
		ports[l.Port] = l.Name
	}
	wantLinks := []string{"db->replica", "dyno->gateway", "dyno->db", "standby.dyno->gateway", "standby.dyno->standby.db",
		"router->dyno[1]", "router->dyno[2]", "standby.router->standby.dyno[1]", "standby.router->standby.dyno[2]",
		"region:primary", "region:standby", "edge->gslb", "edge->capture", "replayer->gslb", "reconciler->gateway"}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("links %v;\nwant %v", links, wantLinks)
	}
	// A region's outage cuts its gslb link and the replication link.
	for _, l := range topo.Links {
		if l.Name == LinkReplication && !slices.Contains(l.Names(), LinkRegionPrimary) {
			t.Errorf("%s answers to %v; a primary outage must cut it too", l.Name, l.Names())
		}
		if l.Name == LinkReplication && !l.Proxied {
			t.Errorf("%s is not proxied though a fault names region:primary", l.Name)
		}
	}

	cfg := func(name string) any { return topo.Config(topo.Instance(name), addrs{}) }
	for _, in := range topo.Instances {
		if err := topo.Config(in, addrs{}).Validate(); err != nil {
			t.Errorf("%s: %v", in.Name, err)
		}
	}
	for name, want := range map[string]string{
		"standby.dyno[1]": `{"Name":"standby-dyno-1","Gateway":"http://gateway","DB":"http://standby.db","Seed":7501}`,
		"standby.router":  `{"Dynos":["http://standby.dyno-1","http://standby.dyno-2"]}`,
		"standby.db":      `{"Follow":"http://relay/db->replica","ReplicationLag":"2s","Store":"store:standby-orders.sqlite"}`,
		"db":              `{"Follow":""}`,
		"edge":            `{"Production":"http://gslb"}`,
		"replayer":        `{"Production":"http://gslb"}`,
		"gslb":            `{"Active":"primary","Regions":{"primary":"http://relay/region:primary","standby":"http://standby.router"}}`,
	} {
		if got := wired(t, cfg(name), want); got != "" {
			t.Errorf("%s: %s", name, got)
		}
	}
}

// TestWarmAndColdStandbysStartLater: a warm standby's dynos, and every
// instance of a cold one, start when the region is provisioned; the
// running instances are then told about them.
func TestWarmAndColdStandbysStartLater(t *testing.T) {
	warm := New(standbySpec("warm"))
	ins, links := warm.Deferred(RegionStandby)
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	if !slices.Equal(names, []string{"standby.dyno[1]", "standby.dyno[2]"}) {
		t.Errorf("warm: deferred %v; want the standby's dynos only", names)
	}
	if len(links) != 4 {
		t.Errorf("warm: %d deferred links; want the dynos' two each and the router's two", len(links))
	}
	if rc := warm.Config(warm.Instance("standby.router"), addrs{}).(*router.Config); len(rc.Dynos) != 0 {
		t.Errorf("warm: the standby router starts with dynos %v; want none", rc.Dynos)
	}
	calls := warm.Rewire(RegionStandby, addrs{})
	if len(calls) != 1 || calls[0].Instance != "standby.router" || calls[0].Path != wire.PathDynos || len(calls[0].Body.([]string)) != 2 {
		t.Errorf("warm: rewire %+v; want the standby router told its two dynos", calls)
	}

	cold := New(standbySpec("cold"))
	ins, _ = cold.Deferred(RegionStandby)
	if len(ins) != 4 {
		t.Errorf("cold: %d deferred instances; want the whole region (db, 2 dynos, router)", len(ins))
	}
	for _, l := range cold.Links {
		if l.Name == LinkReplication {
			t.Error("cold: a replication link; a cold standby restores the last backup instead")
		}
	}
	dc := cold.Config(cold.Instance("standby.db"), addrs{}).(*db.Config)
	if dc.Follow != "" || dc.Restore != "store:backup.ndjson" {
		t.Errorf("cold: standby db follows %q, restores %q; want no following and the backup restored", dc.Follow, dc.Restore)
	}
	if rc := cold.Config(cold.Instance("standby.router"), addrs{}).(*router.Config); len(rc.Dynos) != 2 {
		t.Errorf("cold: the standby router, started with its region, has dynos %v; want both", rc.Dynos)
	}
	gc := cold.Config(cold.Instance("gslb"), addrs{}).(*gslb.Config)
	if u, ok := gc.Regions[RegionStandby]; !ok || u != "" {
		t.Errorf("cold: the gslb knows the standby as %q; want a region without an address yet", u)
	}
	calls = cold.Rewire(RegionStandby, addrs{})
	if len(calls) != 1 || calls[0].Instance != "gslb" || !strings.HasSuffix(calls[0].Path, RegionStandby) {
		t.Errorf("cold: rewire %+v; want the gslb told the standby's address", calls)
	}
	// Without a standby, nothing changes.
	if topo := New(standbySpec("none")); topo.HasStandby() || len(topo.Instances) != 9 {
		t.Errorf("mode none: %d instances, standby %v; want today's system", len(topo.Instances), topo.HasStandby())
	}
}
