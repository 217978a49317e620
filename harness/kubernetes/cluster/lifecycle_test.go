package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"paydrill/internal/imagetar"
	"paydrill/internal/machine"
	"paydrill/internal/staticbin"
)

// requireCluster skips (or, with PAYDRILL_REQUIRE_KUBERNETES=1, fails)
// when this machine cannot run a local cluster: not root, a package
// missing, or the binaries not built (building them takes 30 minutes cold:
// `paydrill cluster up` does it once).
func requireCluster(t *testing.T) {
	t.Helper()
	why := ""
	if err := checkPrerequisites(); err != nil {
		why = err.Error()
	} else if bin, ok := Built(); !ok {
		why = fmt.Sprintf("the Kubernetes binaries are not built in %s (run `paydrill cluster up` once: about 30 minutes with a cold Go build cache, 1 minute warm)", bin)
	}
	if why == "" {
		return
	}
	if os.Getenv("PAYDRILL_REQUIRE_KUBERNETES") == "1" {
		t.Fatalf("PAYDRILL_REQUIRE_KUBERNETES=1 but %s", why)
	}
	t.Skipf("no local Kubernetes cluster can run here: %s (PAYDRILL_REQUIRE_KUBERNETES=1 makes this a failure)", why)
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// The whole life of the default cluster: up (or found up), every node
// Ready in its zone, an image imported and a pod of it per zone answering
// over the pod network and through a Service's ClusterIP from the host, a
// second Up a quick no-op, Down leaving nothing of ours, and the cluster
// up again at the end when it was up at the start (for the tests after).
func TestLifecycle(t *testing.T) {
	machine.Exclusive(t)
	requireCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c := Default()
	c.Log = testLog{t}

	before, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wasUp := before.Up
	t.Cleanup(func() {
		if !wasUp {
			return
		}
		t.Log("the cluster was up when the test began: bringing it up again")
		c := Default()
		c.Log = testLog{t}
		c.Nodes = len(before.Nodes)
		if err := c.Up(context.Background()); err != nil {
			t.Errorf("bringing the cluster up again: %v", err)
		}
	})

	began := time.Now()
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("up in %.1fs (it was up before: %v)", time.Since(began).Seconds(), wasUp)
	s, err := c.Status(ctx)
	if err != nil || !s.Up {
		t.Fatalf("status after up: %+v %v", s, err)
	}
	if len(s.Nodes) < 1 || len(s.Nodes) > MaxNodes {
		t.Fatalf("%d nodes", len(s.Nodes))
	}
	for i, n := range s.Nodes {
		if want := "zone-" + string(rune('a'+i)); n.Zone != want || !n.Ready {
			t.Errorf("node %s: zone %q ready %v, want %s and Ready", n.Name, n.Zone, n.Ready, want)
		}
	}
	if s.Kubeconfig != c.Kubeconfig() || !strings.HasPrefix(s.APIServer, "https://127.0.0.1:") {
		t.Errorf("kubeconfig %s, API %s", s.Kubeconfig, s.APIServer)
	}
	if !strings.HasPrefix(c.HostPathRoot(), c.dir()+"/") {
		t.Errorf("the hostPath root %s is outside %s", c.HostPathRoot(), c.dir())
	}
	if fi, err := os.Stat(c.HostPathRoot()); err != nil || !fi.IsDir() {
		t.Errorf("the hostPath root: %v", err)
	}

	// paydrill's own image, imported into every node.
	bin, err := staticbin.Path(ctx, runtime.GOARCH, "kubernetes", testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "paydrill.tar")
	const image = "paydrill-cluster-test:lifecycle"
	if err := imagetar.WriteFile(archive, imagetar.Image{
		Tags: []string{image}, Binary: bin, Entrypoint: []string{"/paydrill"}, User: "65534:65534",
		Dirs: []imagetar.Dir{{Path: "/data", UID: 65534, GID: 65534}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.ImportImage(ctx, archive); err != nil {
		t.Fatal(err)
	}

	cs, err := c.clientset()
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("paydrill-cluster-test-%d", time.Now().UnixNano())
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, n := range s.Nodes {
		ips = append(ips, runGateway(ctx, t, cs, ns, image, n))
	}
	for _, ip := range ips {
		body, err := get(ctx, "http://"+ip+":8080/healthz")
		if err != nil {
			t.Errorf("GET /healthz on pod %s: %v", ip, err)
		} else {
			t.Logf("pod %s answers /healthz: %s", ip, body)
		}
	}
	svcIP := exposeGateways(ctx, t, cs, ns, len(ips))
	if body, err := get(ctx, "http://"+svcIP+":8080/healthz"); err != nil {
		t.Errorf("GET /healthz on the Service %s: %v", svcIP, err)
	} else {
		t.Logf("Service %s answers /healthz: %s", svcIP, body)
	}

	// A second Up is a no-op: nothing restarted.
	st, err := c.loadState()
	if err != nil || st == nil {
		t.Fatalf("state: %v", err)
	}
	began = time.Now()
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("a second Up took %s", d)
	}
	again, _ := c.loadState()
	if !slices.EqualFunc(st.Procs, again.Procs, func(a, b proc) bool { return a.PID == b.PID }) {
		t.Errorf("a second Up restarted processes")
	}

	// Down leaves nothing of ours.
	var netns []string
	l := layout{st.Dir}
	for _, n := range st.Nodes {
		cts, err := ctrContainers(ctx, l.socket(n.Name))
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range cts {
			if ct.netns != "" && !slices.Contains(netns, ct.netns) {
				netns = append(netns, ct.netns)
			}
		}
	}
	if len(netns) < len(ips) {
		t.Errorf("found %d pod network namespaces for %d pods", len(netns), len(ips))
	}
	began = time.Now()
	if err := c.Down(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("down in %.1fs", time.Since(began).Seconds())
	if left := leftovers(ctx, c, st, netns, false); len(left) > 0 {
		t.Errorf("left after down: %s", strings.Join(left, "; "))
	}
	for _, pid := range allPIDs() {
		if cl := cmdline(pid); len(cl) > 0 && strings.Contains(strings.Join(cl, " "), st.Dir+"/") {
			t.Errorf("process %d still names the cluster's directory: %s", pid, strings.Join(cl, " "))
		}
	}
	if _, err := os.Stat(st.Dir); !errors.Is(err, os.ErrNotExist) {
		ents, _ := os.ReadDir(st.Dir)
		t.Errorf("the cluster's directory %s is left with %d entries", st.Dir, len(ents))
	}
	if bin, ok := Built(); !ok {
		t.Errorf("down removed the binaries in %s", bin)
	}
	if s, err := c.Status(ctx); err != nil || s.Up {
		t.Errorf("status after down: %+v %v", s, err)
	}
	if err := c.Down(ctx); err != nil {
		t.Errorf("a second down: %v", err)
	}
}

// runGateway runs `paydrill serve gateway` in a pod on node n (chosen by
// its zone label) and returns the pod's IP once it is Ready.
func runGateway(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns, image string, n Node) string {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gateway-" + n.Zone, Labels: map[string]string{"app": "gateway"}},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{ZoneLabel: n.Zone},
			Containers: []corev1.Container{{
				Name:            "gateway",
				Image:           image,
				ImagePullPolicy: corev1.PullNever,
				Args:            []string{"serve", "gateway", "--listen", "0.0.0.0:8080", "--store", "/data/gateway.sqlite", "--latency", "const:value=1ms"},
				Ports:           []corev1.ContainerPort{{ContainerPort: 8080}},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1,
				},
			}},
		},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && p.Status.PodIP != "" && podReady(p) {
			if p.Spec.NodeName != n.Name {
				t.Errorf("pod %s for %s ran on %s", pod.Name, n.Zone, p.Spec.NodeName)
			}
			return p.Status.PodIP
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 90s waiting for pod %s to be Ready: %+v %v", pod.Name, p.Status, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// exposeGateways puts a Service in front of the gateways and returns its
// ClusterIP once its EndpointSlice has every one ready.
func exposeGateways(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns string, want int) string {
	t.Helper()
	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "gateway"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "gateway"},
			Ports: []corev1.ServicePort{{Port: 8080, TargetPort: intstr.FromInt32(8080)}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=gateway"})
		ready := 0
		if err == nil {
			for _, sl := range slices.Items {
				for _, e := range sl.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						ready++
					}
				}
			}
		}
		if ready == want {
			return svc.Spec.ClusterIP
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 60s waiting for the Service's %d endpoints (%d ready, %v)", want, ready, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// get GETs url, retrying for up to 20s (kube-proxy may program a new
// Service's rules a moment after its endpoints are ready).
func get(ctx context.Context, url string) (string, error) {
	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return strings.TrimSpace(string(body)), nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, body)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
