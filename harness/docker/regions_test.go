package docker

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"paydrill/harness"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/wire"
)

// coldFailover is a short drill against a cold standby: the primary region
// is cut at 8 s, the team creates the standby (its db restored from the
// last backup, taken every 5 s), opens its db and switches the gslb.
const coldFailover = `name: cold-failover
seed: 5
speed: 2
duration: 24s
system:
  dynos: {count: 2, service_time: {dist: const, value: 20ms}}
  gateway: {latency: {dist: const, value: 20ms}, idempotency: true}
  reconciler: {interval: 1s}
  regions:
    standby: {mode: cold, provision: 1s, promote: 500ms, backup_interval: 5s}
  gslb: {mode: manual, interval: 1s, failures: 2, ttl: 0s}
load: {rate: 10/s, customers: 50}
settle: {timeout: 30s, quiet: 1s}
drill:
  steps:
    - {name: page, do: detect, when: gslb-unhealthy}
    - {name: create standby, do: provision, after: page}
    - {name: open db, do: promote, after: create standby}
    - {name: switch, do: reroute, after: open db}
faults:
  - {at: 8s, region: primary, toxic: down}
`

// TestDockerColdStandbyIsCreatedByTheDrill: no container of a cold standby
// exists until the drill provisions it; then its router, dynos and db run
// in containers of their own (the db restored from the last backup, copied
// in), the gslb sends orders there, and nothing is left afterwards.
func TestDockerColdStandbyIsCreatedByTheDrill(t *testing.T) {
	requireDocker(t)
	cli := testDocker(t)
	s, err := scenarios.Parse("cold.yaml", []byte(coldFailover))
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	p, err := harness.NewPlan(s, dockerRunID(t))
	if err != nil {
		t.Fatal(err)
	}

	// Booted: nothing of the standby runs.
	sys, err := Runtime{Log: newDockerTestLog(t)}.Start(context.Background(), p.Topology(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	containers := func() []string {
		var out []string
		for _, c := range dockerLabelled(t, cli, labelRun+"="+p.RunID, false) {
			if strings.HasPrefix(c, "container ") {
				out = append(out, c)
			}
		}
		return out
	}
	for _, c := range containers() {
		if strings.Contains(c, "-standby-") {
			t.Errorf("%s runs before the cold standby is provisioned", c)
		}
	}
	if sys.URL("standby.router") != "" || sys.Provision == nil {
		t.Fatalf("standby router at %q before provisioning, Provision %v", sys.URL("standby.router"), sys.Provision != nil)
	}
	before := len(containers())
	if err := sys.Provision(context.Background(), topology.RegionStandby); err != nil {
		t.Fatal(err)
	}
	if got := len(containers()) - before; got != 4 {
		t.Errorf("provisioning started %d containers; want the standby's db, 2 dynos and router", got)
	}
	if code := dockerGet(t, sys.URL("standby.router")+wire.PathReadyz); code != http.StatusOK {
		t.Errorf("the provisioned standby router is not ready: %d", code)
	}
	// A container fault on a region acts on every container of it.
	ctx := context.Background()
	if err := sys.Container(ctx, "region:standby", "stop"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"standby.router", "standby.db", "standby.dyno[2]"} {
		if resp, err := http.Get(sys.URL(name) + wire.PathHealthz); err == nil {
			resp.Body.Close()
			t.Errorf("%s answers with its region stopped", name)
		}
	}
	if code := dockerGet(t, sys.URL("router")+wire.PathReadyz); code != http.StatusOK {
		t.Errorf("the primary's router stopped with the standby region: %d", code)
	}
	if err := sys.Container(ctx, "region:standby", "unstop"); err != nil {
		t.Fatal(err)
	}
	if code := dockerGet(t, sys.URL("standby.router")+wire.PathReadyz); code != http.StatusOK {
		t.Errorf("the standby router started again is not ready: %d", code)
	}
	if err := sys.Close(); err != nil {
		t.Fatal(err)
	}
	if left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}

	// The drill, run as a user runs it.
	dir := t.TempDir()
	p.RunID += "-run"
	r, err := harness.RunScenario(context.Background(), s, p.RunID, harness.Options{Runtime: Runtime{Log: newDockerTestLog(t)}, Dir: dir, KeepSpeed: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Drill == nil || r.Regions == nil || r.Regions.Active != topology.RegionStandby || r.RPOS == nil || r.OrphanCharges == nil {
		t.Fatalf("regions %+v, drill %+v: want the standby active after the drill", r.Regions, r.Drill)
	}
	t.Logf("rpo %d orders over %.1f s, lost %d, orphans %d, wall %.1fs", r.RPOOrders, *r.RPOS, r.LostOrders, *r.OrphanCharges, r.Harness.WallS)
	if r.Drill == nil || r.Regions == nil || r.Regions.Active != topology.RegionStandby {
		t.Fatalf("regions %+v, drill %+v: want the standby active after the drill", r.Regions, r.Drill)
	}
	for _, st := range r.Drill.Steps {
		t.Logf("step %s: %s", st.Name, st.Outcome)
		if !st.OK {
			t.Errorf("step %s did not do its job: %s", st.Name, st.Outcome)
		}
	}
	if r.RTOS == nil {
		t.Error("production never answered again after the failover")
	}
	// Orders acknowledged since the last backup are lost with the primary.
	if r.RPOOrders == 0 || r.RPOS == nil || *r.RPOS <= 0 {
		t.Errorf("rpo %d orders over %v s: a cold standby loses what came after its backup", r.RPOOrders, r.RPOS)
	}
	if _, err := os.Stat(filepath.Join(dir, "exports", "standby.db.ndjson")); err != nil {
		t.Errorf("the standby's db was not collected: %v", err)
	}
	if left := dockerLabelled(t, cli, labelRun+"="+p.RunID, false); len(left) > 0 {
		t.Fatalf("left behind after the run: %v", left)
	}
}
