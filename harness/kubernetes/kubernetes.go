// Package kubernetes is the runtime that realises a topology on a
// Kubernetes cluster: paydrill's local one (`paydrill cluster up`,
// harness/kubernetes/cluster) by default, or any other a kubeconfig
// reaches.
//
// A run gets a namespace of its own, "paydrill-<system id>", labelled
// paydrill.run=<run id> and paydrill.system=<system id>. Every instance
// of the topology is a Deployment of one pod and a ClusterIP Service of
// the instance's alias ("gateway", "dyno-2", "standby-router"): the
// Services are created first, so every peer is wired to a Service
// address that stays the same while a pod is killed and replaced (there
// is no cluster DNS on the local cluster, so the addresses are the
// Services' cluster IPs). A warm standby's dynos are Deployments at zero
// replicas until the drill provisions them; a cold standby's Deployments
// are created then. Toxiproxy runs in the namespace too
// (`paydrill serve toxiproxy`), its Service exposing every relay's port,
// and every link passes through it exactly as on the other runtimes.
//
// The pods run the one paydrill image (FROM scratch, the static binary;
// imported into the local cluster's nodes, never pulled) as 65534 with a
// read-only root filesystem and no capabilities. The stateful components
// keep their SQLite store under /data: on the local cluster a host
// directory (its nodes are this host), so a pod killed and replaced
// keeps every record it committed and the stores are left in the run's
// directory at the end; elsewhere an emptyDir.
//
// From this host, the harness reaches each instance only through
// 127.0.0.1: a listener per instance carried through the API server's
// port-forward to a ready pod of it (forward.go). The load, the health
// checks, the exports the checker reads and toxiproxy's API all go that
// way.
//
// Close (and a failed or cancelled Start) saves every pod's log, stops
// the pods so the stores close, copies the stores to the run's
// directory, and deletes the namespace, waiting until it is gone. What a
// killed process left, `paydrill clean` (Clean) removes: every namespace
// labelled paydrill.run.
package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/db"
	"paydrill/sim/wire"
)

// Name is the runtime's name, as --runtime takes it.
const Name = "kubernetes"

// Runtime runs a topology on a Kubernetes cluster.
type Runtime struct {
	// Kubeconfig is the kubeconfig file; "": $KUBECONFIG, else the local
	// cluster's when it is up, else ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig's context to use; "": its current one.
	Context string
	// Log, when not nil, is told what is being created and torn down.
	Log io.Writer
	// Local is paydrill's local cluster (harness/kubernetes/cluster):
	// used when no kubeconfig is given and it is up; its nodes are this
	// host, so the runtime imports its image into them and keeps the
	// stores in host directories. Nil: none.
	Local LocalCluster
}

// LocalCluster is what the runtime needs of paydrill's local cluster.
type LocalCluster interface {
	// Kubeconfig is its admin kubeconfig's path.
	Kubeconfig() string
	// ImportImage imports a docker-archive into every node.
	ImportImage(ctx context.Context, archive string) error
}

var _ system.Runtime = Runtime{}

// Name is "kubernetes".
func (Runtime) Name() string { return Name }

// Supports every link fault (toxiproxy runs in the cluster), the
// Kubernetes faults, a standby region and the redundancy settings;
// container faults (kill, stop, restart, pause of a container) are the
// docker runtime's: here a pod-kill is what a crash is.
func (Runtime) Supports(kind string) bool {
	if kind == system.FeatureStandby || kind == system.FeatureRedundancy {
		return true
	}
	k, ok := scenarios.LookupFaultKind(kind)
	return ok && !k.Container
}

// SpeedLimit is the highest speed the kubernetes runtime runs a scenario
// at unless the user chose the speed. Every hop crosses a pod's network
// namespace and a ClusterIP's NAT, as docker's cross containers, and the
// load and the checker go through the API server's port-forward. At 5,
// production-outage on the local cluster failed over 600 orders with an
// RTO of 120.0 s, the embedded runtime's 602 and 120.0 s (at speed 12),
// and the harness was not saturated; faster speeds were not measured.
const SpeedLimit = 5

// SpeedLimit is SpeedLimit.
func (Runtime) SpeedLimit() float64 { return SpeedLimit }

func (r Runtime) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, "kubernetes: "+format+"\n", args...)
	}
}

// Timeouts of the cluster's objects.
const (
	readyTimeout    = 3 * time.Minute
	teardownTimeout = 3 * time.Minute
)

// ErrNoCluster is wrapped by the error of a runtime that finds no
// cluster answering.
var ErrNoCluster = errors.New("no Kubernetes cluster answers")

// connect loads the kubeconfig and checks the API server answers.
func (r Runtime) connect(ctx context.Context) (*rest.Config, kubernetes.Interface, bool, error) {
	path, local := r.kubeconfig()
	if path == "" {
		return nil, nil, false, fmt.Errorf("kubernetes: %w: no kubeconfig (start paydrill's local cluster with `paydrill cluster up`, or pass --kubeconfig)", ErrNoCluster)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path},
		&clientcmd.ConfigOverrides{CurrentContext: r.Context}).ClientConfig()
	if err != nil {
		return nil, nil, false, fmt.Errorf("kubernetes: %w: %s: %v", ErrNoCluster, path, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	cfg.Timeout = 30 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, false, fmt.Errorf("kubernetes: %w: %v", ErrNoCluster, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(pctx); err != nil {
		return nil, nil, false, fmt.Errorf("kubernetes: %w at %s (kubeconfig %s): %v", ErrNoCluster, cfg.Host, path, err)
	}
	return cfg, cs, local, nil
}

// Available says why the kubernetes runtime cannot run here (no cluster
// answers), or nil.
func (r Runtime) Available(ctx context.Context) error {
	_, _, _, err := r.connect(ctx)
	return err
}

// Start creates the run's namespace, every instance's Service, toxiproxy
// and its relays, and every instance's Deployment, and waits until each
// pod is ready.
func (r Runtime) Start(ctx context.Context, topo *topology.Topology, dir string) (sys *system.System, err error) {
	cfg, cs, local, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	var lc LocalCluster
	if local {
		lc = r.Local
	}
	image, err := ensureImage(ctx, cs, lc, r.Log)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	run := newRun(cs, cfg, topo, dir, r.Log)
	if local {
		run.hostRoot = liveRoot(run.ns)
	}
	booting := &system.System{Components: map[string]string{}, Dynos: topo.Dynos(),
		Stores: filepath.Join(dir, "stores")}
	booting.OnClose(run.teardown)
	defer func() {
		if err != nil {
			if cerr := booting.Close(); cerr != nil {
				err = fmt.Errorf("%w (and tearing down: %v)", err, cerr)
			}
			sys = nil
		}
	}()
	if err := run.createNamespace(ctx); err != nil {
		return nil, err
	}
	if topo.Redundancy().Zones > 0 {
		if run.platformZone, err = lastZone(ctx, cs); err != nil {
			return nil, err
		}
		run.logf("%s: the dynos are placed by zone; every other pod runs in %s", run.ns, run.platformZone)
	}
	specs := run.buildSpecs(topo)
	// Services first: their cluster IPs are what every peer is wired to.
	for _, s := range specs {
		if err := run.createService(ctx, s); err != nil {
			return nil, err
		}
	}
	run.wire(specs, topo)
	tp := run.specs[toxiproxyName]
	if err := run.createDeployment(ctx, tp, image, 1); err != nil {
		return nil, err
	}
	for _, s := range specs {
		if s == tp {
			continue
		}
		replicas := int32(1)
		if s.inst.Deferred {
			if !run.warm(s) {
				continue // a cold standby's: created when provisioned
			}
			replicas = 0 // a warm standby's dyno: scaled up when provisioned
		}
		if err := run.createDeployment(ctx, s, image, replicas); err != nil {
			return nil, err
		}
	}
	if err := run.createBudgets(ctx); err != nil {
		return nil, err
	}
	if err := run.waitReady(ctx, tp); err != nil {
		return nil, err
	}
	tpf, err := run.forward(tp)
	if err != nil {
		return nil, err
	}
	booting.Links = system.NewLinks(toxiclient.NewClient(tpf.addr()))
	for _, l := range topo.Proxied() {
		if l.Deferred {
			continue // created when its region is provisioned
		}
		if err := run.relay(booting.Links, l); err != nil {
			return nil, err
		}
	}
	for _, s := range specs {
		if s == tp || s.inst.Deferred {
			continue
		}
		if err := run.waitReady(ctx, s); err != nil {
			return nil, err
		}
		f, err := run.forward(s)
		if err != nil {
			return nil, err
		}
		booting.Components[s.inst.Name] = f.url()
	}
	if err := run.waitServing(ctx, specs); err != nil {
		return nil, err
	}
	booting.Edge = booting.Components[topology.RoleEdge]
	booting.Peer = func(name string) string { return run.direct(topo.Instance(name)) }
	booting.Provision = func(ctx context.Context, region string) error {
		return run.provision(ctx, booting, image, region)
	}
	booting.Disrupt = run.disrupt
	run.booted.Store(true)
	r.logf("%s: %d pods ready in %.1fs", run.ns, len(run.forwards), time.Since(began).Seconds())
	return booting, nil
}

// lastZone is the last zone of the cluster's nodes, by name.
func lastZone(ctx context.Context, cs kubernetes.Interface) (string, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: zoneKey})
	if err != nil {
		return "", fmt.Errorf("kubernetes: listing the nodes' zones: %w", err)
	}
	last := ""
	for _, n := range nodes.Items {
		last = max(last, n.Labels[zoneKey])
	}
	if last == "" {
		return "", fmt.Errorf("kubernetes: the dynos are placed by zone but no node has a %s label", zoneKey)
	}
	return last, nil
}

// run is everything one Start created.
type run struct {
	cs   kubernetes.Interface
	cfg  *rest.Config
	topo *topology.Topology
	id   string // unique per Start: the paydrill.system label
	ns   string
	dir  string
	log  io.Writer
	// hostRoot is the host directory the stores live in (the local
	// cluster's nodes are this host); "": emptyDirs.
	hostRoot string

	// platformZone is the zone every pod but the dynos' runs in when the
	// dynos are placed by zone: the cluster's last, so a zone's outage
	// tests the dynos' placement and not where the scheduler happened to
	// put the db. "": anywhere.
	platformZone string

	booted       atomic.Bool
	provisioning sync.Mutex

	specs map[string]*spec  // by instance name (and "toxiproxy")
	ips   map[string]string // Service cluster IPs by alias

	mu       sync.Mutex
	forwards map[string]*forwarder // by instance name
}

func newRun(cs kubernetes.Interface, cfg *rest.Config, topo *topology.Topology, dir string, log io.Writer) *run {
	var b [3]byte
	_, _ = rand.Read(b[:])
	base := dnsLabel(topo.RunID)
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	if base == "" {
		base = "run"
	}
	id := strings.Trim(base, "-") + "-" + hex.EncodeToString(b[:])
	return &run{cs: cs, cfg: cfg, topo: topo, id: id, ns: namespaceName(id), dir: dir, log: log,
		specs: map[string]*spec{}, ips: map[string]string{}, forwards: map[string]*forwarder{}}
}

func (r *run) logf(format string, args ...any) {
	if r.log != nil {
		fmt.Fprintf(r.log, "kubernetes: "+format+"\n", args...)
	}
}

func (r *run) createNamespace(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns, Labels: map[string]string{
		labelRun: labelValue(r.topo.RunID), labelSystem: r.id,
	}}}
	if _, err := r.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: creating namespace %s: %w", r.ns, err)
	}
	r.logf("namespace %s", r.ns)
	return nil
}

// buildSpecs is a spec per instance of the topology and one for toxiproxy
// (first), in boot order.
func (r *run) buildSpecs(topo *topology.Topology) []*spec {
	ports := []int{toxiproxyPort}
	for _, l := range topo.Links {
		if l.Proxied {
			ports = append(ports, l.Port)
		}
	}
	tp := &spec{inst: topology.Instance{Role: toxiproxyName, Name: toxiproxyName, Alias: toxiproxyName},
		args:  []string{"serve", "toxiproxy", "--listen", fmt.Sprintf("0.0.0.0:%d", toxiproxyPort)},
		ports: ports, ready: "/version"}
	out := []*spec{tp}
	r.specs[tp.inst.Name] = tp
	for _, in := range topo.Instances {
		s := &spec{inst: in, ports: []int{componentPort}, ready: wire.PathHealthz, store: in.Store != ""}
		if s.store && r.hostRoot != "" {
			s.hostPath = filepath.Join(r.hostRoot, in.Alias)
		}
		r.specs[in.Name] = s
		out = append(out, s)
	}
	return out
}

// wire gives every instance its arguments: its configuration wired to
// its peers' Service addresses (a relay's port on toxiproxy's Service for
// a proxied link).
func (r *run) wire(specs []*spec, topo *topology.Topology) {
	for _, s := range specs {
		if s.inst.Role == toxiproxyName {
			continue
		}
		cfg := topo.Config(s.inst, addrs{r})
		if dc, ok := cfg.(*db.Config); ok && dc.Restore != "" {
			// The harness writes the backup beside the stores on this
			// host; it is sent to the db once its pod runs.
			dc.Restore = ""
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			panic(fmt.Sprintf("kubernetes: %s config: %v", s.inst.Name, err)) // plain structs: cannot fail
		}
		s.args = []string{"serve", s.inst.Component, "--listen", fmt.Sprintf("0.0.0.0:%d", componentPort), "--config", string(b)}
	}
}

// warm says whether s is deferred only until its region is provisioned
// by scaling up (a warm standby's dyno: its Deployment exists at zero
// replicas), rather than created then (a cold standby's every instance).
func (r *run) warm(s *spec) bool {
	for _, in := range r.topo.InRegion(s.inst.Region) {
		if !in.Deferred {
			return true // the region runs something: warm
		}
	}
	return false
}

// addrs are the addresses inside the cluster: Services' cluster IPs.
type addrs struct{ r *run }

func (a addrs) Direct(in topology.Instance) string { return a.r.direct(in) }

func (addrs) Store(in topology.Instance) string { return "/data/" + in.Store }

func (a addrs) Link(l topology.Link) string {
	if !l.Proxied {
		return a.r.direct(a.r.topo.Instance(l.To))
	}
	return fmt.Sprintf("http://%s:%d", a.r.ips[toxiproxyName], l.Port)
}

func (r *run) direct(in topology.Instance) string {
	return fmt.Sprintf("http://%s:%d", r.ips[in.Alias], componentPort)
}

func (r *run) createService(ctx context.Context, s *spec) error {
	svc, err := r.cs.CoreV1().Services(r.ns).Create(ctx, s.service(r.id), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("kubernetes: creating service %s: %w", s.name(), err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return fmt.Errorf("kubernetes: service %s has no cluster IP", s.name())
	}
	r.ips[s.inst.Alias] = svc.Spec.ClusterIP
	return nil
}

func (r *run) createDeployment(ctx context.Context, s *spec, image string, replicas int32) error {
	if s.hostPath != "" {
		// The pod runs as 65534: the directory must be writable by it.
		if err := os.MkdirAll(s.hostPath, 0o777); err != nil {
			return fmt.Errorf("kubernetes: %s's store directory: %w", s.name(), err)
		}
		if err := os.Chmod(s.hostPath, 0o777); err != nil {
			return err
		}
	}
	d := s.deployment(r.id, image, replicas, r.topo.Redundancy(), r.platformZone)
	if _, err := r.cs.AppsV1().Deployments(r.ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: creating deployment %s: %w", s.name(), err)
	}
	return nil
}

// createBudgets creates each region's PodDisruptionBudget over its
// dynos when the redundancy settings ask for one.
func (r *run) createBudgets(ctx context.Context) error {
	red := r.topo.Redundancy()
	if red.MinAvailable == "" {
		return nil
	}
	min := intstr.Parse(red.MinAvailable)
	regions := []string{""}
	if r.topo.HasStandby() {
		regions = []string{topology.RegionPrimary, topology.RegionStandby}
	}
	for _, region := range regions {
		name := topology.RegionPrefix(region) + "dynos"
		pdb := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: strings.ReplaceAll(name, ".", "-"), Labels: map[string]string{labelSystem: r.id}},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: &min,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{
					labelSystem: r.id, labelRole: topology.RoleDyno, labelRegion: regionLabel(region),
				}},
			},
		}
		if _, err := r.cs.PolicyV1().PodDisruptionBudgets(r.ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("kubernetes: creating the dynos' disruption budget: %w", err)
		}
	}
	return nil
}

// waitReady waits until s's Deployment has all its replicas ready, or
// says why not: each pod's phase and what its container waits on, and
// its last log lines.
func (r *run) waitReady(parent context.Context, s *spec) error {
	ctx, cancel := context.WithTimeout(parent, readyTimeout)
	defer cancel()
	for {
		d, err := r.cs.AppsV1().Deployments(r.ns).Get(ctx, s.name(), metav1.GetOptions{})
		if err == nil && deploymentReady(d) {
			return nil
		}
		if why := r.cannotStart(ctx, s); why != "" {
			return fmt.Errorf("kubernetes: %s cannot start: %s", s.name(), why)
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("kubernetes: waiting for %s: %w", s.name(), context.Cause(parent))
			}
			return fmt.Errorf("kubernetes: %s not ready after %s: %s", s.name(), readyTimeout, r.whyNotReady(s))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitServing waits until each running spec's Service sends to its
// ready pod: its EndpointSlice lists the pod ready and, on the local
// cluster (whose Service addresses this host reaches too), a connection
// to the Service's cluster IP is taken, which it is only once kube-proxy
// has programmed the endpoint. A pod ready a moment before its Service
// has an endpoint would otherwise refuse the first orders (seen: 6 of 90
// failed over in a healthy run on a busy machine).
func (r *run) waitServing(parent context.Context, specs []*spec) error {
	ctx, cancel := context.WithTimeout(parent, readyTimeout)
	defer cancel()
	for _, s := range specs {
		d, err := r.cs.AppsV1().Deployments(r.ns).Get(ctx, s.name(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) || err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
			continue // not running (yet)
		}
		for !r.serving(ctx, s) {
			select {
			case <-ctx.Done():
				if parent.Err() != nil {
					return fmt.Errorf("kubernetes: waiting for %s's service: %w", s.name(), context.Cause(parent))
				}
				return fmt.Errorf("kubernetes: the service %s has no ready endpoint after %s", s.name(), readyTimeout)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func (r *run) serving(ctx context.Context, s *spec) bool {
	slices, err := r.cs.DiscoveryV1().EndpointSlices(r.ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + s.name()})
	if err != nil {
		return false
	}
	ready := false
	for _, sl := range slices.Items {
		for _, e := range sl.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready = true
			}
		}
	}
	if !ready || r.hostRoot == "" {
		return ready
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(r.ips[s.inst.Alias], strconv.Itoa(s.ports[0])), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func deploymentReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Status.ObservedGeneration >= d.Generation && d.Status.ReadyReplicas == want &&
		d.Status.UpdatedReplicas == want && d.Status.Replicas == want
}

// cannotStart says why s's pod will never start by itself (its image is
// not on the node: nothing is ever pulled), or "".
func (r *run) cannotStart(ctx context.Context, s *spec) string {
	pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{LabelSelector: labelInstance + "=" + s.inst.Alias})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil && (w.Reason == "ErrImageNeverPull" || w.Reason == "InvalidImageName") {
				return fmt.Sprintf("pod %s on %s: %s: %s", p.Name, p.Spec.NodeName, w.Reason, w.Message)
			}
		}
	}
	return ""
}

// whyNotReady describes s's pods for an error.
func (r *run) whyNotReady(s *spec) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{LabelSelector: labelInstance + "=" + s.inst.Alias})
	if err != nil {
		return err.Error()
	}
	if len(pods.Items) == 0 {
		return "no pod was created"
	}
	var out []string
	for _, p := range pods.Items {
		line := fmt.Sprintf("pod %s %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue && c.Message != "" {
				line += fmt.Sprintf("; %s: %s", c.Type, c.Message)
			}
		}
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				line += fmt.Sprintf("; waiting: %s %s", w.Reason, w.Message)
			}
			if t := c.LastTerminationState.Terminated; t != nil {
				line += fmt.Sprintf("; exited %d (%s)", t.ExitCode, t.Reason)
			}
		}
		if logs := r.podLogs(ctx, p.Name, 10); logs != "" {
			line += "\nits last words:\n" + logs
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func (r *run) podLogs(ctx context.Context, pod string, lines int64) string {
	opts := &corev1.PodLogOptions{}
	if lines > 0 {
		opts.TailLines = &lines
	}
	b, err := r.cs.CoreV1().Pods(r.ns).GetLogs(pod, opts).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(b), "\n")
}

// forward starts s's forwarder on 127.0.0.1.
func (r *run) forward(s *spec) (*forwarder, error) {
	f, err := newForwarder(r.cs, r.cfg, r.ns, s.inst.Alias, s.ports[0])
	if err != nil {
		return nil, fmt.Errorf("kubernetes: forwarding to %s: %w", s.name(), err)
	}
	r.mu.Lock()
	r.forwards[s.inst.Name] = f
	r.mu.Unlock()
	return f, nil
}

// relay creates l's proxy in the toxiproxy pod, to the Service of the
// instance it reaches.
func (r *run) relay(links *system.Links, l topology.Link) error {
	up := fmt.Sprintf("%s:%d", r.ips[r.topo.Instance(l.To).Alias], componentPort)
	_, err := links.Proxy(l.Name, fmt.Sprintf("0.0.0.0:%d", l.Port), up, l.Names()[1:]...)
	return err
}

// provision brings region's deferred instances up: a warm standby's
// dynos scaled from zero, a cold standby's Deployments created, a cold
// db's backup restored; then their relays, and tells the running
// instances about them.
func (r *run) provision(ctx context.Context, sys *system.System, image, region string) error {
	r.provisioning.Lock()
	defer r.provisioning.Unlock()
	ins, links := r.topo.Deferred(region)
	var todo []*spec
	for _, in := range ins {
		if sys.URL(in.Name) == "" {
			todo = append(todo, r.specs[in.Name])
		}
	}
	if len(todo) == 0 {
		return nil
	}
	began := time.Now()
	for _, s := range todo {
		if r.warm(s) {
			if err := r.scale(ctx, s.name(), 1); err != nil {
				return err
			}
		} else if err := r.createDeployment(ctx, s, image, 1); err != nil {
			return err
		}
	}
	for _, s := range todo {
		if err := r.waitReady(ctx, s); err != nil {
			return err
		}
	}
	if err := r.waitServing(ctx, todo); err != nil {
		return err
	}
	for _, s := range todo {
		f, err := r.forward(s)
		if err != nil {
			return err
		}
		cfg := r.topo.Config(s.inst, addrs{r})
		if dc, ok := cfg.(*db.Config); ok && dc.Restore != "" {
			if err := system.RestoreBackup(ctx, f.url(), filepath.Join(sys.Stores, path.Base(dc.Restore))); err != nil {
				return fmt.Errorf("kubernetes: restoring %s: %w", s.name(), err)
			}
		}
	}
	for _, l := range links {
		if l.Proxied {
			if err := r.relay(sys.Links, l); err != nil {
				return err
			}
		}
	}
	r.mu.Lock()
	for _, s := range todo {
		sys.SetURL(s.inst.Name, r.forwards[s.inst.Name].url())
	}
	r.mu.Unlock()
	r.logf("%s: %s region provisioned, %d pods ready in %.1fs", r.ns, region, len(todo), time.Since(began).Seconds())
	return sys.Rewire(ctx, r.topo.Rewire(region, addrs{r}))
}

// scale sets a Deployment's replicas.
func (r *run) scale(ctx context.Context, name string, replicas int32) error {
	s, err := r.cs.AppsV1().Deployments(r.ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("kubernetes: scaling %s: %w", name, err)
	}
	s.Spec.Replicas = replicas
	if _, err := r.cs.AppsV1().Deployments(r.ns).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("kubernetes: scaling %s to %d: %w", name, replicas, err)
	}
	return nil
}

// teardown saves every pod's log, stops the pods (so the stores close
// cleanly), copies the stores into the run's directory, and deletes the
// namespace, waiting until it is gone. After a failed or interrupted
// Start there is nothing to keep but the logs. It works from a context
// of its own: it also runs when the run's was cancelled.
func (r *run) teardown() error {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	r.mu.Lock()
	fws := r.forwards
	r.forwards = map[string]*forwarder{}
	r.mu.Unlock()
	for _, f := range fws {
		f.close()
	}
	r.logf("removing %s", r.ns)
	var errs []error
	if r.dir != "" {
		if err := r.saveLogs(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if r.booted.Load() && r.hostRoot != "" {
		if err := r.stopStateful(ctx); err != nil {
			errs = append(errs, err)
		} else if err := r.keepStores(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %v", system.ErrStoresNotKept, err))
		}
	}
	if err := deleteNamespace(ctx, r.cs, r.ns); err != nil {
		errs = append(errs, err)
	}
	if r.hostRoot != "" {
		if err := os.RemoveAll(r.hostRoot); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		r.logf("removed %s", r.ns)
	}
	return errors.Join(errs...)
}

// saveLogs writes each pod's log to the run's logs directory.
func (r *run) saveLogs(ctx context.Context) error {
	pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes: listing pods for their logs: %w", err)
	}
	logs := filepath.Join(r.dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	for _, p := range pods.Items {
		name := p.Labels[labelInstance]
		if name == "" {
			name = p.Name
		}
		if text := r.podLogs(ctx, p.Name, 0); text != "" {
			if err := os.WriteFile(filepath.Join(logs, name+".log"), []byte(text+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopStateful scales the stateful instances' Deployments to zero and
// waits until their pods are gone, so each store is closed.
func (r *run) stopStateful(ctx context.Context) error {
	stateful := map[string]bool{} // by alias, the pods' instance label
	for _, s := range r.specs {
		if s.store {
			stateful[s.inst.Alias] = true
			if err := r.scale(ctx, s.name(), 0); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	for {
		pods, err := r.cs.CoreV1().Pods(r.ns).List(ctx, metav1.ListOptions{LabelSelector: labelInstance})
		if err != nil {
			return fmt.Errorf("kubernetes: waiting for the stores to close: %w", err)
		}
		left := 0
		for _, p := range pods.Items {
			if stateful[p.Labels[labelInstance]] {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubernetes: %d stateful pods still running after %s", left, teardownTimeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// keepStores copies every store file from the host directories to the
// run's stores directory.
func (r *run) keepStores() error {
	dst := filepath.Join(r.dir, "stores")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, s := range r.specs {
		if s.hostPath == "" || !fileExists(s.hostPath) {
			continue
		}
		if err := system.CopyFiles(s.hostPath, dst); err != nil {
			return err
		}
	}
	return nil
}

// deleteNamespace deletes ns and waits until it is gone.
func deleteNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	grace := int64(0)
	policy := metav1.DeletePropagationForeground
	err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{GracePeriodSeconds: &grace, PropagationPolicy: &policy})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kubernetes: deleting namespace %s: %w", ns, err)
	}
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubernetes: namespace %s still there after %s", ns, teardownTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
