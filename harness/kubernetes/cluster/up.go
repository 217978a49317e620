package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// hostDirs are directories outside Dir the components create when they
// are missing, whatever their configuration says: kubelet's links to
// container logs and its device-plugin socket (a path compiled in: the
// kubelets of all nodes share it), the CNI result cache, containerd 1.6's
// shim sockets, network namespaces. Down removes them again when Up saw
// them missing (and, for the device-plugin directory, the kubelets' files
// in it), once they are empty.
var hostDirs = []string{"/var/run/netns", "/var/log/containers", "/var/lib/cni", "/var/lib/cni/results",
	"/var/lib/kubelet", kubeletDevicePlugins, "/run/containerd", "/run/containerd/s"}

// kubeletDevicePlugins is where every kubelet puts its device-plugin
// registration socket, whatever its --root-dir.
const kubeletDevicePlugins = "/var/lib/kubelet/device-plugins"

// Up brings the cluster up, or finds it up: when every process of the
// recorded cluster runs, the apiserver is ready and every node is Ready it
// says "already up" and returns at once. A recorded cluster that is not
// healthy is taken down first. On failure Up says which step failed with
// the last lines of that process's log and tears down what it started.
func (c *Cluster) Up(ctx context.Context) (err error) {
	c.began = time.Now()
	defer func() { c.began = time.Time{} }()
	if c.Nodes < 0 || c.Nodes > MaxNodes {
		return fmt.Errorf("a local cluster has 1 to %d nodes, not %d", MaxNodes, c.Nodes)
	}
	if err := checkPrerequisites(); err != nil {
		return err
	}
	dir := c.dir()
	l := layout{dir}
	if len(l.socket("node1"))+10 > 107 {
		return fmt.Errorf("the cluster directory %s is too long for the unix sockets in it (keep it under 60 characters)", dir)
	}
	old, err := c.loadState()
	if err != nil {
		return err
	}
	if old != nil {
		s := c.status(ctx, old)
		if s.Up {
			if c.Nodes != 0 && c.Nodes != len(old.Nodes) {
				return fmt.Errorf("the local cluster in %s is up with %d nodes, not %d: `paydrill cluster down` first to change it", dir, len(old.Nodes), c.Nodes)
			}
			c.logf("already up: %d nodes Ready, kubeconfig %s", len(old.Nodes), c.Kubeconfig())
			return nil
		}
		c.logf("the cluster recorded in %s is not healthy (%s): taking it down first", dir, s.Reason)
		if err := c.down(ctx, old, false); err != nil {
			return fmt.Errorf("taking down the unhealthy cluster in %s: %w", dir, err)
		}
	}
	bin, err := c.Build(ctx)
	if err != nil {
		return err
	}
	nodes := c.Nodes
	if nodes == 0 {
		nodes = DefaultNodes
	}
	st, err := newState(dir, bin, nodes)
	if err != nil {
		return err
	}
	if err := checkAddressesFree(st); err != nil {
		return err
	}
	for _, d := range hostDirs {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			st.Created = append(st.Created, d)
		}
	}
	// The state is on disk before anything exists, so that Down (or the
	// next Up) finds whatever a crash in between leaves.
	if err := c.saveState(st); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		c.logf("up failed: tearing down what it started")
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if derr := c.down(dctx, st, true); derr != nil {
			err = fmt.Errorf("%w\n(and tearing down: %v)", err, derr)
		} else {
			c.logf("stopped; the logs are kept in %s", layout{st.Dir}.logs())
		}
	}()
	return c.bringUp(ctx, st)
}

// bringUp starts everything, step by step, recording each process.
func (c *Cluster) bringUp(ctx context.Context, st *state) error {
	l := layout{st.Dir}
	addProc := func(p proc) error {
		st.Procs = append(st.Procs, p)
		return c.saveState(st)
	}
	startProc := func(name string, argv []string) (proc, error) {
		p, err := c.start(name, argv, nil)
		if err != nil {
			return p, err
		}
		return p, addProc(p)
	}

	// Certificates and kubeconfigs.
	p, err := newPKI(l.pki())
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	for _, s := range certSpecs(st.Nodes) {
		if err := p.issue(s); err != nil {
			return fmt.Errorf("certificate %s: %w", s.name, err)
		}
	}
	api := st.apiURL()
	kubeconfigs := map[string][2]string{ // path: user, certificate
		c.Kubeconfig(): {"paydrill-admin", "admin"},
		filepath.Join(l.pki(), "controller-manager.kubeconfig"): {"system:kube-controller-manager", "controller-manager"},
		filepath.Join(l.pki(), "scheduler.kubeconfig"):          {"system:kube-scheduler", "scheduler"},
		filepath.Join(l.pki(), "kube-proxy.kubeconfig"):         {"system:kube-proxy", "kube-proxy"},
	}
	for _, n := range st.Nodes {
		kubeconfigs[filepath.Join(l.pki(), "kubelet-"+n.Name+".kubeconfig")] = [2]string{"system:node:" + n.Name, "kubelet-" + n.Name}
	}
	for path, uc := range kubeconfigs {
		if err := p.writeKubeconfig(path, api, uc[0], uc[1]); err != nil {
			return fmt.Errorf("kubeconfig %s: %w", path, err)
		}
	}
	c.logf("certificates and kubeconfigs written (CA %s)", p.cert("ca"))

	// The pause image, from the static paydrill binary.
	pause := filepath.Join(l.images(), "pause.tar")
	if err := c.writePauseImage(ctx, pause); err != nil {
		return fmt.Errorf("the pause image: %w", err)
	}
	c.logf("pause image written (%s)", pause)

	// Host network and cgroups.
	if err := makeHostBridge(ctx, st); err != nil {
		return fmt.Errorf("the node bridge %s: %w", st.HostBridge, err)
	}
	for _, n := range st.Nodes {
		if err := makeCgroup(n.CgroupRoot); err != nil {
			return fmt.Errorf("%s's cgroup root: %w", n.Name, err)
		}
	}
	c.logf("bridge %s holds the node IPs; cgroup roots made", st.HostBridge)

	// One containerd per node.
	for _, n := range st.Nodes {
		for _, d := range []string{filepath.Join(l.containerd(n.Name), "root"), filepath.Join(l.containerd(n.Name), "state"),
			filepath.Join(l.containerd(n.Name), "runc"), filepath.Join(l.containerd(n.Name), "opt"), l.cniIPAM(n.Name),
			filepath.Dir(l.socket(n.Name)), l.cniConfDir(n.Name), l.kubelet(n.Name), l.podLogs(n.Name)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		files := map[string]string{
			l.containerdConf(n.Name):                                  containerdConfig(l, n),
			filepath.Join(l.cniConfDir(n.Name), "10-bridge.conflist"): cniConfig(l, n),
			l.kubeletConf(n.Name):                                     kubeletConfig(l, n, p),
		}
		for path, content := range files {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				return err
			}
		}
		if _, err := startProc(procName(n, "containerd"), containerdArgv(l, n)); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.HostPathRoot(), 0o755); err != nil {
		return err
	}
	// etcd starts while the containerds come up and take the pause image.
	etcd, err := startProc("etcd", etcdArgv(l, st))
	if err != nil {
		return err
	}
	if err := eachNode(st.Nodes, func(n nodeState) error {
		pr, _ := st.proc(procName(n, "containerd"))
		sock := l.socket(n.Name)
		if err := c.waitFor(ctx, n.Name+"'s containerd answering on "+sock, 30*time.Second, &pr, func(ctx context.Context) error {
			_, err := ctr(ctx, sock, "version")
			return err
		}); err != nil {
			return err
		}
		if err := importInto(ctx, sock, pause); err != nil {
			return stepError("importing the pause image into "+n.Name, &pr, err)
		}
		c.logf("%s: pause image imported", n.Name)
		return nil
	}); err != nil {
		return err
	}

	// The control plane.
	if err := c.waitFor(ctx, "etcd healthy", 30*time.Second, &etcd, func(ctx context.Context) error {
		body, err := httpGet(ctx, nil, fmt.Sprintf("http://127.0.0.1:%d/health", st.Ports.EtcdClient))
		if err == nil && !strings.Contains(body, `"health":"true"`) {
			err = fmt.Errorf("etcd says %s", body)
		}
		return err
	}); err != nil {
		return err
	}
	apiserver, err := startProc("kube-apiserver", apiserverArgv(l, st, p))
	if err != nil {
		return err
	}
	tlsc, err := p.adminTLS()
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kube-apiserver ready", 90*time.Second, &apiserver, func(ctx context.Context) error {
		body, err := httpGet(ctx, tlsc, api+"/readyz")
		if err == nil && body != "ok" {
			err = fmt.Errorf("readyz: %s", body)
		}
		return err
	}); err != nil {
		return err
	}
	cm, err := startProc("kube-controller-manager", controllerManagerArgv(l, st, p))
	if err != nil {
		return err
	}
	sched, err := startProc("kube-scheduler", schedulerArgv(l, st, p))
	if err != nil {
		return err
	}
	proxy, err := startProc("kube-proxy", kubeProxyArgv(l, st))
	if err != nil {
		return err
	}
	for _, w := range []struct {
		what string
		p    *proc
		url  string
	}{
		{"kube-controller-manager healthy", &cm, fmt.Sprintf("https://127.0.0.1:%d/healthz", st.Ports.ControllerManager)},
		{"kube-scheduler healthy", &sched, fmt.Sprintf("https://127.0.0.1:%d/healthz", st.Ports.Scheduler)},
	} {
		if err := c.waitFor(ctx, w.what, 60*time.Second, w.p, func(ctx context.Context) error {
			body, err := httpGet(ctx, tlsc, w.url)
			if err == nil && body != "ok" {
				err = fmt.Errorf("healthz: %s", body)
			}
			return err
		}); err != nil {
			return err
		}
	}

	// The kubelets.
	var kubelets []proc
	for _, n := range st.Nodes {
		k, err := startProc(procName(n, "kubelet"), kubeletArgv(l, st, n))
		if err != nil {
			return err
		}
		kubelets = append(kubelets, k)
	}
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	for i, n := range st.Nodes {
		if err := c.waitFor(ctx, n.Name+" Ready ("+n.Zone+")", 120*time.Second, &kubelets[i], func(ctx context.Context) error {
			node, err := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(node) {
				return fmt.Errorf("%s is not Ready yet", n.Name)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if err := c.waitFor(ctx, "kube-proxy healthy", 60*time.Second, &proxy, func(ctx context.Context) error {
		_, err := httpGet(ctx, nil, fmt.Sprintf("http://127.0.0.1:%d/healthz", st.Ports.ProxyHealthz))
		return err
	}); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "the default ServiceAccount", 60*time.Second, &cm, func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	c.logf("cluster up: %d nodes, kubeconfig %s, API %s", len(st.Nodes), c.Kubeconfig(), api)
	return nil
}

// eachNode runs f for every node at once and returns their errors.
func eachNode(nodes []nodeState, f func(nodeState) error) error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitFor polls check until it passes, for at most timeout; when p is
// given and its process ends meanwhile, it fails at once. Either way the
// error names what was waited for and the last lines of p's log.
func (c *Cluster) waitFor(ctx context.Context, what string, timeout time.Duration, p *proc, check func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			c.logf("%s", what)
			return nil
		}
		if ctx.Err() != nil {
			return stepError(what, p, ctx.Err())
		}
		if p != nil && !c.running(*p) {
			return stepError(what, p, fmt.Errorf("%s (pid %d) exited", p.Name, p.PID))
		}
		if time.Now().After(deadline) {
			return stepError(what, p, fmt.Errorf("timed out after %s: %v", timeout, last))
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stepError says which step failed and what its process's log said last.
func stepError(what string, p *proc, err error) error {
	if p == nil || p.Log == "" {
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return fmt.Errorf("waiting for %s: %w\nlast lines of %s:\n%s", what, err, p.Log, tailFile(p.Log, 15))
}

// adminTLS is a client TLS configuration that trusts only the cluster's
// CA and presents the admin certificate.
func (p *pki) adminTLS() (*tls.Config, error) {
	return loadAdminTLS(p.dir)
}

func loadAdminTLS(pkiDir string) (*tls.Config, error) {
	ca, err := os.ReadFile(filepath.Join(pkiDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", filepath.Join(pkiDir, "ca.crt"))
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "admin.crt"), filepath.Join(pkiDir, "admin.key"))
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// httpGet GETs url (127.0.0.1 only) and returns the body of a 200.
func httpGet(ctx context.Context, tlsc *tls.Config, url string) (string, error) {
	tr := &http.Transport{TLSClientConfig: tlsc, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return strings.TrimSpace(string(body)), nil
}

// clientset is a client of the cluster as its admin.
func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("the admin kubeconfig %s: %w", c.Kubeconfig(), err)
	}
	cfg.Timeout = 10 * time.Second
	cfg.QPS, cfg.Burst = 50, 100
	return kubernetes.NewForConfig(cfg)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
