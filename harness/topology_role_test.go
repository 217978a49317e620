package harness

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"paydrill/harness/topology"
	"paydrill/sim/roles"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// canary is a new dyno-like role, added in this file only: one dyno the
// router does not route to, reaching the gateway and the db over links of
// its own.
var canary = topology.Role{
	Role:      roles.Role{Name: "canary", Short: "A dyno outside the router's pool"},
	Component: topology.RoleDyno,
	Links:     []topology.LinkSpec{{To: topology.RoleGateway, Port: 9100}, {To: topology.RoleDB, Port: 9101}},
	Config: func(w topology.Wiring, in topology.Instance) roles.Config {
		c := w.Dyno
		c.Name = in.Alias
		c.Gateway, c.DB = w.Over(in.Role, topology.RoleGateway), w.Over(in.Role, topology.RoleDB)
		return &c
	},
}

// TestANewRoleIsRealisedByEveryRuntime: both runtimes boot a role added to
// the topology, wired over its own links, with no change to either.
func TestANewRoleIsRealisedByEveryRuntime(t *testing.T) {
	p := smallPlan(time.Second)
	p.Roles = append(topology.Roles(), canary)
	p.AlsoProxied = []string{"canary->gateway"}

	sys, err := Embedded{}.Start(context.Background(), p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	if !slices.Contains(sys.Links.Names(), "canary->gateway") {
		t.Errorf("relays %v: want canary->gateway", sys.Links.Names())
	}
	o := OrderSource{Seed: 1, Customers: 5, Amount: p.Load.Amount}.Order(0)
	req, err := OrderRequest(context.Background(), sys.Components["canary"], o)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("an order sent to the canary: %s", resp.Status)
	}
	charges, err := service.Fetch[wire.Charge](context.Background(), http.DefaultClient, sys.Components["gateway"]+wire.PathExport)
	if err != nil {
		t.Fatal(err)
	}
	if len(charges) != 1 || charges[0].Reference != o.Reference {
		t.Errorf("gateway ledger %+v: want the canary's one charge of %s", charges, o.Reference)
	}

	var spec *dockerSpec
	for _, s := range dockerSpecs(p.Topology()) {
		if s.role == "canary" {
			spec = s
		}
	}
	if spec == nil || spec.alias != "canary" || spec.args[1] != "dyno" {
		t.Fatalf("docker spec %+v: want a container canary running serve dyno", spec)
	}
	var cfg struct{ Gateway, DB string }
	if err := json.Unmarshal([]byte(spec.args[len(spec.args)-1]), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Gateway != "http://toxiproxy:9100" || !strings.HasPrefix(cfg.DB, "http://db:") {
		t.Errorf("canary's container reaches the gateway at %s and the db at %s; want its relay and the db directly", cfg.Gateway, cfg.DB)
	}
}
