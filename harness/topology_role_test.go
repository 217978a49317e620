package harness

import (
	"context"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"paydrill/harness/docker"
	"paydrill/harness/embedded"
	"paydrill/harness/load"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/internal/machine"
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
		c.Gateway, c.DB = w.To(in, topology.RoleGateway), w.To(in, topology.RoleDB)
		return &c
	},
}

// TestANewRoleIsRealisedByEveryRuntime: both runtimes boot a role added to
// the topology, wired over its own links, with no change to either: an
// order sent to the canary is charged through its own relay.
func TestANewRoleIsRealisedByEveryRuntime(t *testing.T) {
	for _, rt := range []system.Runtime{embedded.Runtime{}, docker.Runtime{}} {
		t.Run(rt.Name(), func(t *testing.T) {
			if rt.Name() == "docker" {
				requireDockerOrSkip(t)
			}
			p := smallPlan(time.Second)
			p.RunID = "canary-" + rt.Name()
			p.Roles = append(topology.Roles(), canary)
			p.AlsoProxied = []string{"canary->gateway"}
			sys, err := rt.Start(context.Background(), p.Topology(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer sys.Close()
			if !slices.Contains(sys.Links.Names(), "canary->gateway") {
				t.Errorf("relays %v: want canary->gateway", sys.Links.Names())
			}
			if err := WaitHealthy(context.Background(), http.DefaultClient, sys); err != nil {
				t.Fatal(err)
			}
			o := load.OrderSource{Seed: 1, Customers: 5, Amount: p.Load.Amount}.Order(0)
			req, err := load.OrderRequest(context.Background(), sys.URL("canary"), o)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("an order sent to the canary: %s", resp.Status)
			}
			charges, err := service.Fetch[wire.Charge](context.Background(), http.DefaultClient, sys.URL("gateway")+wire.PathExport)
			if err != nil {
				t.Fatal(err)
			}
			if len(charges) != 1 || charges[0].Reference != o.Reference {
				t.Errorf("gateway ledger %+v: want the canary's one charge of %s", charges, o.Reference)
			}
		})
	}
}

// requireDockerOrSkip skips a test of the docker runtime where no Docker
// daemon answers (or with -short), unless PAYDRILL_REQUIRE_DOCKER=1 makes
// that a failure, and has the machine to itself while it runs.
func requireDockerOrSkip(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots containers; skipped with -short")
	}
	if err := docker.Available(context.Background()); err != nil {
		if os.Getenv("PAYDRILL_REQUIRE_DOCKER") == "1" {
			t.Fatalf("PAYDRILL_REQUIRE_DOCKER=1 and the docker runtime cannot run: %v", err)
		}
		t.Skipf("skipping the docker runtime's test: %v", err)
	}
	machine.Exclusive(t)
}
