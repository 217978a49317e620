package harness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydrill/harness/docker"
	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/fault"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/wire"
)

// The plan carries the dynos' redundancy in wall time (the probes'
// periods divided by the speed) and the Kubernetes faults with their
// zone and replicas, none of which needs a toxiproxy relay.
func TestPlanCarriesRedundancyAndKubernetesFaults(t *testing.T) {
	s, err := scenarios.Load("../fixtures/scenarios/good/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(s, "k8s")
	if err != nil {
		t.Fatal(err)
	}
	want := topology.Redundancy{Zones: 3, Spread: "zone", CPU: "500m", Memory: "256Mi",
		Readiness:    topology.Probe{Period: wire.Duration(200 * time.Millisecond), Failures: 3}, // 2s at speed 10
		Liveness:     topology.Probe{Period: wire.Duration(500 * time.Millisecond), Failures: 3},
		MinAvailable: "50%"}
	if p.Redundancy != want {
		t.Errorf("redundancy %+v\nwant %+v", p.Redundancy, want)
	}
	if got := p.Proxied(); len(got) != 0 {
		t.Errorf("Kubernetes faults proxied %v", got)
	}
	wantFaults := []fault.Plan{
		{Index: 1, Link: "dyno", Toxic: "node-drain", At: 6 * time.Second},
		{Index: 2, Link: "zone:b", Zone: "b", Toxic: "zone-outage", At: 12 * time.Second, For: 18 * time.Second},
		{Index: 3, Link: "dyno[2]", Toxic: "pod-kill", At: 18 * time.Second},
		{Index: 4, Link: "gateway", Toxic: "pod-kill", At: 24 * time.Second},
		{Index: 5, Link: "zone:c", Zone: "c", Toxic: "node-drain", At: 30 * time.Second, For: 6 * time.Second},
		{Index: 6, Link: "dyno", Replicas: 2, Toxic: "scale", At: 36 * time.Second, For: 12 * time.Second},
		{Index: 7, Name: "no dynos", Link: "dyno", Replicas: 0, Toxic: "scale", At: 54 * time.Second},
	}
	if len(p.Faults) != len(wantFaults) {
		t.Fatalf("%d faults, want %d", len(p.Faults), len(wantFaults))
	}
	for i, w := range wantFaults {
		f := p.Faults[i]
		f.Attributes, f.Stream = nil, ""
		if fmt.Sprint(f) != fmt.Sprint(w) {
			t.Errorf("fault %d: %+v\nwant %+v", i+1, f, w)
		}
	}
	if d := p.Faults[1].Disruption(); d != (system.Disruption{Kind: "zone-outage", Zone: "b"}) {
		t.Errorf("zone-outage's disruption %+v", d)
	}

	// Nothing asked: the zero value, whatever the defaults spell out.
	d := scenarios.Default()
	if p, _ := NewPlan(&d, "none"); p.Redundancy != (topology.Redundancy{}) {
		t.Errorf("the default scenario's redundancy %+v", p.Redundancy)
	}
}

// Every runtime but kubernetes refuses the redundancy settings and the
// Kubernetes faults before anything starts: bad input naming each key
// where it was written and pointing at --runtime kubernetes.
func TestRedundancyAndKubernetesFaultsAreRefused(t *testing.T) {
	const file = "../fixtures/scenarios/good/kubernetes.yaml"
	s, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []system.Runtime{embedded.Runtime{}, docker.Runtime{}} {
		err := CheckRuntime(s, rt)
		if exit.Code(err) != exit.CodeBadInput {
			t.Fatalf("%s: %v (exit %d), want bad input", rt.Name(), err, exit.Code(err))
		}
		lines := strings.Split(err.Error(), "\n")
		want := []string{
			file + ":7:28: system.dynos.zones: the " + rt.Name() + " runtime does not place the dynos on nodes",
			file + ":7:39: system.dynos.spread: ",
			file + ":7:59: system.dynos.limits.cpu: ",
			file + ":7:73: system.dynos.limits.memory: ",
			file + ":8:31: system.dynos.probes.readiness: ",
			file + ":8:68: system.dynos.probes.liveness: ",
			file + ":9:46: system.dynos.disruption_budget.min_available: ",
			file + ":11:35: faults[0].toxic: node-drain is a Kubernetes fault: the " + rt.Name() + " runtime cannot apply it; it needs --runtime kubernetes",
			file + ":12:39: faults[1].toxic: zone-outage is a Kubernetes fault",
			file + ":13:40: faults[2].toxic: pod-kill is a Kubernetes fault",
			file + ":14:38: faults[3].toxic: pod-kill is a Kubernetes fault",
			file + ":15:39: faults[4].toxic: node-drain is a Kubernetes fault",
			file + ":16:57: faults[5].toxic: scale is a Kubernetes fault",
			file + ":17:64: faults[6].toxic: scale is a Kubernetes fault",
		}
		if len(lines) != len(want) {
			t.Fatalf("%s: %d errors, want %d:\n%v", rt.Name(), len(lines), len(want), err)
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) || !strings.HasSuffix(lines[i], "--runtime kubernetes") {
				t.Errorf("%s: error %d\n%s\nwant it to start %q and end with --runtime kubernetes", rt.Name(), i, lines[i], w)
			}
		}
	}
	for _, rt := range []system.Runtime{embedded.Runtime{}, docker.Runtime{}} { // model's: harness/model's test
		for _, kind := range []string{system.FeatureRedundancy, "pod-kill", "node-drain", "zone-outage", "scale"} {
			if rt.Supports(kind) {
				t.Errorf("the %s runtime supports %s", rt.Name(), kind)
			}
		}
	}
	if !(docker.Runtime{}).Supports("kill") || !(docker.Runtime{}).Supports(system.FeatureStandby) || !(embedded.Runtime{}).Supports("down") {
		t.Error("docker or embedded no longer supports what it did")
	}
}

// RunScenario refuses them before the runtime starts anything, and Run
// refuses a plan built in code with redundancy, as with a container fault.
func TestRedundancyIsRefusedBeforeBoot(t *testing.T) {
	s, err := scenarios.Parse("r.yaml", []byte("name: r\nduration: 1m\nspeed: auto\nsystem:\n  dynos: {zones: 2, spread: zone}\n"))
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	rt := startCounter{starts: &starts}
	_, err = RunScenario(context.Background(), s, "refused", Options{Runtime: rt, Dir: t.TempDir()})
	if exit.Code(err) != exit.CodeBadInput || !strings.Contains(fmt.Sprint(err), "r.yaml:5:18: system.dynos.zones: ") ||
		!strings.Contains(fmt.Sprint(err), "--runtime kubernetes") {
		t.Errorf("RunScenario: %v (exit %d)", err, exit.Code(err))
	}
	d := scenarios.Default()
	p, err := NewPlan(&d, "code")
	if err != nil {
		t.Fatal(err)
	}
	p.Redundancy.MinAvailable = "1"
	_, err = Run(context.Background(), p, Options{Runtime: rt, Dir: t.TempDir()})
	if exit.Code(err) != exit.CodeBadInput || !strings.Contains(fmt.Sprint(err), "--runtime kubernetes") {
		t.Errorf("Run: %v (exit %d)", err, exit.Code(err))
	}
	p.Redundancy = topology.Redundancy{}
	p.Faults = []fault.Plan{{Index: 1, Link: "zone:a", Zone: "a", Toxic: "zone-outage"}}
	_, err = Run(context.Background(), p, Options{Runtime: rt, Dir: t.TempDir()})
	if exit.Code(err) != exit.CodeBadInput || !strings.Contains(fmt.Sprint(err), "fault 1 (zone-outage on zone:a): zone-outage is a Kubernetes fault: the embedded runtime cannot apply it; it needs --runtime kubernetes") {
		t.Errorf("Run: %v (exit %d)", err, exit.Code(err))
	}
	if starts != 0 {
		t.Errorf("the runtime was started %d times", starts)
	}
}
