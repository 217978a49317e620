package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"paydrill/harness"
	"paydrill/harness/exit"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/wire"
)

// The kubernetes runtime's tests run on paydrill's local cluster: see
// ForTest.

// testClient is a client of the runtime's cluster for the tests' checks.
func testClient(t testing.TB, rt Runtime) kubernetes.Interface {
	t.Helper()
	_, cs, _, err := rt.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func testRunID(t testing.TB) string {
	return fmt.Sprintf("test-%s-%d", dnsLabel(t.Name()), time.Now().UnixNano()%1e9)
}

// leftOf lists what the cluster and this host still hold of runID.
func leftOf(t testing.TB, rt Runtime, runID string) []string {
	t.Helper()
	left, err := rt.Leftovers(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// plan is a small system of dynos dynos with a const service time, for
// d at rate orders a second (model time = wall time), plus yaml under
// system: and faults.
func plan(t testing.TB, d time.Duration, rate float64, dynos int, extra string) *harness.Plan {
	t.Helper()
	s, err := scenarios.Parse("k8s.yaml", []byte(fmt.Sprintf(`name: k8s
seed: 3
speed: 1
duration: %s
system:
  dynos: {count: %d, service_time: {dist: const, value: 2ms}, backlog: 100000%s}
  gateway: {latency: {dist: const, value: 1ms}}
  edge: {failover_timeout: 30s}
  reconciler: {interval: 200ms}
load: {rate: %g/s, customers: 50, amount: "25.00", timeout: 5s}
settle: {timeout: 30s, quiet: 300ms}
`, scenarios.FormatDuration(d), dynos, extra, rate)))
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate(); errs != nil {
		t.Fatal(errs)
	}
	p, err := harness.NewPlan(s, testRunID(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Replayer.Interval = wire.Duration(100 * time.Millisecond)
	return p
}

// TestKubernetesStartBuildsTheSystemAsObjects boots a system and looks at
// it through the API: a labelled namespace, a Deployment and a Service
// per instance and toxiproxy's, every pod running paydrill's image
// unprivileged with a read-only root, the stateful ones with a store on
// the host; every URL the harness holds is on 127.0.0.1 and answers.
func TestKubernetesStartBuildsTheSystemAsObjects(t *testing.T) {
	rt := ForTest(t)
	cs := testClient(t, rt)
	ctx := context.Background()
	p := plan(t, time.Second, 10, 2, "")
	topo := p.Topology()
	sys, err := rt.Start(ctx, topo, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			sys.Close()
		}
	}()
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: labelRun + "=" + labelValue(p.RunID)})
	if err != nil || len(nss.Items) != 1 {
		t.Fatalf("namespaces of the run: %v, %v; want one", nss, err)
	}
	ns := nss.Items[0].Name
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := len(topo.Instances) + 1 // and toxiproxy
	if len(deps.Items) != want || len(svcs.Items) != want {
		t.Fatalf("%d deployments, %d services; want %d of each (the %d instances and toxiproxy)", len(deps.Items), len(svcs.Items), want, want-1)
	}
	byName := map[string]appsv1.Deployment{}
	for _, d := range deps.Items {
		byName[d.Name] = d
		pod := d.Spec.Template.Spec
		c := pod.Containers[0]
		sc := c.SecurityContext
		if c.ImagePullPolicy != corev1.PullNever || !strings.HasPrefix(c.Image, "docker.io/library/paydrill:") ||
			sc == nil || *sc.RunAsUser != runAsUser || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation ||
			len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("deployment %s: image %s (%s), security %+v", d.Name, c.Image, c.ImagePullPolicy, sc)
		}
		if d.Labels[labelRole] == "" || d.Labels[labelInstance] != d.Name {
			t.Errorf("deployment %s labels %v", d.Name, d.Labels)
		}
	}
	for _, in := range topo.Instances {
		d, ok := byName[in.Alias]
		if !ok {
			t.Errorf("no deployment for %s", in.Name)
			continue
		}
		var hostPath string
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "data" && v.HostPath != nil {
				hostPath = v.HostPath.Path
			}
		}
		if (in.Store != "") != (hostPath != "") {
			t.Errorf("%s (store %q): host path %q", in.Name, in.Store, hostPath)
		}
		if in.Store != "" && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("%s holds a store but its pods are replaced %s", in.Name, d.Spec.Strategy.Type)
		}
		u := sys.URL(in.Name)
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s is reached at %s, not on 127.0.0.1", in.Name, u)
			continue
		}
		resp, err := http.Get(u + wire.PathHealthz)
		if err != nil {
			t.Errorf("%s at %s: %v", in.Name, u, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s at %s: %s", in.Name, u, resp.Status)
		}
	}
	if err := sys.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if left := leftOf(t, rt, p.RunID); len(left) > 0 {
		t.Fatalf("left behind after Close: %v", left)
	}
}

// TestKubernetesRunChargesEveryOrderOnce runs load through the cluster
// and checks every order, and that the run leaves its stores in its
// directory and nothing in the cluster or on the host.
func TestKubernetesRunChargesEveryOrderOnce(t *testing.T) {
	rt := ForTest(t)
	p := plan(t, 3*time.Second, 30, 2, "")
	dir := t.TempDir()
	r, err := harness.Run(context.Background(), p, harness.Options{Runtime: rt, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, succeeded %d, charges %d, p99 %.0fms, wall %.1fs", r.Orders.Sent, r.Orders.Succeeded, r.Charges, r.LatencyMS.P99, r.Harness.WallS)
	if r.Runtime != Name {
		t.Fatalf("runtime %q", r.Runtime)
	}
	if r.Orders.Sent < 80 || r.Orders.Succeeded != r.Orders.Sent || r.Charges != r.Orders.Succeeded {
		t.Fatalf("sent %d, succeeded %d, charges %d: want about 90, all succeeded, charged once each", r.Orders.Sent, r.Orders.Succeeded, r.Charges)
	}
	if r.Failovers != 0 || r.DoubleCharges+r.PhantomCharges+r.LostOrders+r.Unreconciled+r.WrongMatches != 0 {
		t.Fatalf("anomalies in a healthy run: failovers %d, %+v", r.Failovers, r.Anomalies)
	}
	if left := leftOf(t, rt, p.RunID); len(left) > 0 {
		t.Fatalf("left behind after the run: %v", left)
	}
	for _, f := range []string{"exports/capture.ndjson", "exports/dyno-2.ndjson", "stores/gateway.sqlite", "stores/orders.sqlite", "logs/dyno-1.log"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
}

// TestKubernetesProductionOutageHasTheEmbeddedVerdict runs the
// cancelAfterStart is the runtime whose run is interrupted (as by Ctrl-C)
// a moment after it started, or during its start.
type cancelAfterStart struct {
	Runtime
	cancel context.CancelFunc
	after  time.Duration
	booted bool // count after from the end of Start, not its beginning
}

func (c cancelAfterStart) Start(ctx context.Context, topo *topology.Topology, dir string) (*system.System, error) {
	if !c.booted {
		time.AfterFunc(c.after, c.cancel)
		return c.Runtime.Start(ctx, topo, dir)
	}
	sys, err := c.Runtime.Start(ctx, topo, dir)
	time.AfterFunc(c.after, c.cancel)
	return sys, err
}

// TestKubernetesInterruptedRunLeavesNothing interrupts a run while its
// objects are being created and while its load runs: the run fails and
// removes its namespace and host directories either way.
func TestKubernetesInterruptedRunLeavesNothing(t *testing.T) {
	rt := ForTest(t)
	if _, err := rt.Start(context.Background(), plan(t, time.Second, 1, 1, "").Topology(), t.TempDir()); err == nil {
		// (only to have the image built and imported: Clean below removes it)
	} else {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := rt.Clean(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		after  time.Duration
		booted bool
	}{{"during start", 1500 * time.Millisecond, false}, {"during load", 3 * time.Second, true}} {
		ctx, cancel := context.WithCancel(context.Background())
		p := plan(t, 20*time.Second, 20, 2, "")
		began := time.Now()
		_, err := harness.Run(ctx, p, harness.Options{Runtime: cancelAfterStart{rt, cancel, c.after, c.booted}, Dir: t.TempDir()})
		cancel()
		t.Logf("%s: %v after %v", c.name, err, time.Since(began))
		if err == nil || exit.Code(err) != exit.CodeCannotRun {
			t.Fatalf("%s: err = %v, want the run interrupted", c.name, err)
		}
		if left := leftOf(t, rt, p.RunID); len(left) > 0 {
			t.Fatalf("%s: left behind: %v", c.name, left)
		}
	}
}

// TestKubernetesCleanRemovesWhatAKilledRunLeft starts a system and
// abandons it mid zone-outage, as a process killed outright would: Clean
// removes its namespace and host directories and gives the zone's nodes
// back.
func TestKubernetesCleanRemovesWhatAKilledRunLeft(t *testing.T) {
	rt := ForTest(t)
	cs := testClient(t, rt)
	ctx := context.Background()
	p := plan(t, time.Second, 10, 2, "")
	sys, err := rt.Start(ctx, p.Topology(), t.TempDir()) // never closed
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Disrupt(ctx, system.Disruption{Kind: FaultZoneOutage, Zone: "a"}); err != nil {
		t.Fatal(err)
	}
	if left := leftOf(t, rt, p.RunID); len(left) != 2 {
		t.Fatalf("the abandoned run holds %v, want its namespace and its stores' directory", left)
	}
	var out bytes.Buffer
	if err := rt.Clean(ctx, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("clean: %s", out.String())
	if left := leftOf(t, rt, p.RunID); len(left) > 0 {
		t.Fatalf("left after clean: %v", left)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable || hasTaint(&n, taintZoneOutage) || n.Annotations[annotationCordoned] != "" {
			t.Errorf("node %s after clean: unschedulable %v, taints %v", n.Name, n.Spec.Unschedulable, n.Spec.Taints)
		}
	}
	out.Reset()
	if err := rt.Clean(ctx, &out); err != nil || out.String() != "kubernetes: nothing to remove\n" {
		t.Fatalf("second clean: %q, %v", out.String(), err)
	}
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// dynoPods are the ready and the waiting dyno pods of the run's primary
// region, by the zone of the node each ready one runs on.
func dynoPods(t testing.TB, cs kubernetes.Interface, runID string) (readyByZone map[string]int, waiting int) {
	t.Helper()
	ctx := context.Background()
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: labelRun + "=" + labelValue(runID)})
	if err != nil || len(nss.Items) != 1 {
		t.Fatalf("the run's namespace: %v", err)
	}
	pods, err := cs.CoreV1().Pods(nss.Items[0].Name).List(ctx, metav1.ListOptions{LabelSelector: labelRole + "=" + topology.RoleDyno})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zoneOf := map[string]string{}
	for _, n := range nodes.Items {
		zoneOf[n.Name] = n.Labels[zoneKey]
	}
	readyByZone = map[string]int{}
	for _, p := range pods.Items {
		switch {
		case p.DeletionTimestamp != nil:
		case podReady(&p):
			readyByZone[zoneOf[p.Spec.NodeName]]++
		default:
			waiting++
		}
	}
	return readyByZone, waiting
}

// eventually polls cond every 200 ms until it holds or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestKubernetesZoneOutageSpreadAgainstPacked: four dynos spread over two
// zones keep two ready through zone a's outage; four packed in zone a
// have none until it is lifted, and then all four are back.
func TestKubernetesZoneOutageSpreadAgainstPacked(t *testing.T) {
	rt := ForTest(t)
	cs := testClient(t, rt)
	ctx := context.Background()
	for _, c := range []struct {
		name, keys string
		before     map[string]int // ready dynos by zone before the outage
		during     map[string]int
	}{
		{"spread", ", zones: 2, spread: zone", map[string]int{"zone-a": 2, "zone-b": 2}, map[string]int{"zone-b": 2}},
		{"packed", ", zones: 1", map[string]int{"zone-a": 4}, map[string]int{}},
	} {
		p := plan(t, time.Second, 10, 4, c.keys)
		sys, err := rt.Start(ctx, p.Topology(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := dynoPods(t, cs, p.RunID); fmt.Sprint(got) != fmt.Sprint(c.before) {
			t.Errorf("%s: ready dynos by zone %v, want %v", c.name, got, c.before)
		}
		lift, err := sys.Disrupt(ctx, system.Disruption{Kind: FaultZoneOutage, Zone: "a"})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]int
		var waiting int
		if !eventually(30*time.Second, func() bool {
			got, waiting = dynoPods(t, cs, p.RunID)
			return fmt.Sprint(got) == fmt.Sprint(c.during)
		}) {
			t.Errorf("%s: during zone a's outage, ready dynos by zone %v (%d waiting), want %v", c.name, got, waiting, c.during)
		}
		if err := lift(ctx); err != nil {
			t.Fatal(err)
		}
		if !eventually(60*time.Second, func() bool {
			got, _ = dynoPods(t, cs, p.RunID)
			return got["zone-a"]+got["zone-b"] == 4
		}) {
			t.Errorf("%s: after the outage, ready dynos by zone %v, want 4", c.name, got)
		}
		if err := sys.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKubernetesDrainRespectsTheDisruptionBudget drains the nodes of the
// dynos: with a budget of every dyno the cluster refuses the evictions
// and the fault says so; without one the dynos are evicted and come back
// ready on the nodes left.
func TestKubernetesDrainRespectsTheDisruptionBudget(t *testing.T) {
	rt := ForTest(t)
	cs := testClient(t, rt)
	ctx := context.Background()
	for _, c := range []struct {
		name, keys string
		refused    bool
	}{
		{"with budget", ", zones: 1, disruption_budget: {min_available: 2}", true},
		{"without budget", ", zones: 1", false},
	} {
		p := plan(t, time.Second, 10, 2, c.keys)
		sys, err := rt.Start(ctx, p.Topology(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		lift, err := sys.Disrupt(ctx, system.Disruption{Kind: FaultNodeDrain, Target: topology.RoleDyno})
		t.Logf("%s: %v", c.name, err)
		if c.refused != (err != nil) || c.refused && !strings.Contains(err.Error(), "disruption budget") {
			t.Errorf("%s: drain error %v, want refused %v by the disruption budget", c.name, err, c.refused)
		}
		if lift == nil {
			t.Fatalf("%s: no lift: the cordon would stay", c.name)
		}
		got, waiting := dynoPods(t, cs, p.RunID)
		if c.refused && got["zone-a"] != 2 {
			t.Errorf("%s: ready dynos %v after a refused drain, want both still in zone-a", c.name, got)
		}
		if !c.refused && got["zone-a"] != 0 {
			t.Errorf("%s: ready dynos %v (%d waiting) after the drain of zone-a's node, want none there", c.name, got, waiting)
		}
		if err := lift(ctx); err != nil {
			t.Fatal(err)
		}
		if !eventually(60*time.Second, func() bool {
			got, _ = dynoPods(t, cs, p.RunID)
			return got["zone-a"] == 2
		}) {
			t.Errorf("%s: after uncordoning, ready dynos %v, want both back in zone-a", c.name, got)
		}
		if err := sys.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
