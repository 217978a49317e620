package cluster

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func testState(t *testing.T, nodes int) (*state, *pki, layout) {
	t.Helper()
	dir := t.TempDir()
	st, err := newState(dir, "/opt/k8s/bin", nodes)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPKI(layout{dir}.pki())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range certSpecs(st.Nodes) {
		if err := p.issue(s); err != nil {
			t.Fatal(err)
		}
	}
	return st, p, layout{dir}
}

// Every certificate verifies against the cluster's CA for what it is used
// for, and names what the components check: the apiserver answers as
// 127.0.0.1 and as the kubernetes Service, each kubelet as its node IP,
// clients are the users and groups RBAC and the Node authorizer know.
func TestCertificatesVerifyAgainstTheCA(t *testing.T) {
	st, p, _ := testState(t, 3)
	ca := readCert(t, p.cert("ca"))
	if !ca.IsCA {
		t.Fatal("the CA is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	verify := func(name string, usage x509.ExtKeyUsage, host string) *x509.Certificate {
		t.Helper()
		c := readCert(t, p.cert(name))
		opts := x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, DNSName: host}
		if _, err := c.Verify(opts); err != nil {
			t.Errorf("%s for %s: %v", name, host, err)
		}
		other := x509.ExtKeyUsageServerAuth
		if usage == other {
			other = x509.ExtKeyUsageClientAuth
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{other}}); err == nil {
			t.Errorf("%s verifies for the other usage too", name)
		}
		if _, err := os.Stat(p.key(name)); err != nil {
			t.Errorf("%s has no key: %v", name, err)
		}
		return c
	}
	for _, host := range []string{"127.0.0.1", kubernetesServiceIP, "kubernetes.default.svc", "localhost"} {
		verify("apiserver", x509.ExtKeyUsageServerAuth, host)
	}
	verify("localhost-serving", x509.ExtKeyUsageServerAuth, "127.0.0.1")
	for _, n := range st.Nodes {
		verify("kubelet-"+n.Name+"-serving", x509.ExtKeyUsageServerAuth, n.IP)
		c := verify("kubelet-"+n.Name, x509.ExtKeyUsageClientAuth, "")
		if c.Subject.CommonName != "system:node:"+n.Name || !slices.Equal(c.Subject.Organization, []string{"system:nodes"}) {
			t.Errorf("kubelet %s's client is %v", n.Name, c.Subject)
		}
	}
	for name, want := range map[string]string{
		"admin": "paydrill-admin", "controller-manager": "system:kube-controller-manager",
		"scheduler": "system:kube-scheduler", "kube-proxy": "system:kube-proxy",
		"apiserver-kubelet-client": "kube-apiserver-kubelet-client",
	} {
		if c := verify(name, x509.ExtKeyUsageClientAuth, ""); c.Subject.CommonName != want {
			t.Errorf("%s is %q, want %q", name, c.Subject.CommonName, want)
		}
	}
	if c := readCert(t, p.cert("admin")); !slices.Equal(c.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("admin's groups %v", c.Subject.Organization)
	}
	// A certificate of another CA does not verify.
	other, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readCert(t, other.cert("ca")).Verify(x509.VerifyOptions{Roots: roots}); err == nil {
		t.Error("another cluster's CA verifies against this one")
	}
	if data, err := os.ReadFile(p.path("sa.pub")); err != nil || !strings.Contains(string(data), "PUBLIC KEY") {
		t.Errorf("the service-account public key: %v", err)
	}
}

// The admin kubeconfig parses, has the paydrill-local context, reaches the
// apiserver's URL and gives a client configuration that trusts the CA and
// presents the admin certificate.
func TestKubeconfigParses(t *testing.T) {
	st, p, l := testState(t, 1)
	path := filepath.Join(l.dir, "kubeconfig")
	if err := p.writeKubeconfig(path, st.apiURL(), "paydrill-admin", "admin"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != ContextName {
		t.Errorf("current context %q", cfg.CurrentContext)
	}
	ctx := cfg.Contexts[ContextName]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil || cfg.AuthInfos[ctx.AuthInfo] == nil {
		t.Fatalf("context %+v", ctx)
	}
	if got := cfg.Clusters[ctx.Cluster].Server; got != st.apiURL() || !strings.HasPrefix(got, "https://127.0.0.1:") {
		t.Errorf("server %q", got)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := rest.TLSConfigFor(rc)
	if err != nil {
		t.Fatal(err)
	}
	if tc.RootCAs == nil || tc.GetClientCertificate == nil && len(tc.Certificates) == 0 {
		t.Errorf("the client trusts no CA or presents no certificate")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %o: it holds a key", fi.Mode().Perm())
	}
}

// Each node's containerd, CNI and kubelet configuration is its own: no
// two nodes share a directory, socket, bridge, subnet, port or cgroup.
func TestNodeConfigsAreTheirOwn(t *testing.T) {
	st, p, l := testState(t, 3)
	seen := map[string]string{}
	own := func(node, what, v string) {
		t.Helper()
		if prev, ok := seen[what+"="+v]; ok {
			t.Errorf("%s and %s share %s %s", prev, node, what, v)
		}
		seen[what+"="+v] = node
	}
	for _, n := range st.Nodes {
		cd := containerdConfig(l, n)
		for _, want := range []string{
			`root = "` + filepath.Join(l.containerd(n.Name), "root") + `"`,
			`state = "` + filepath.Join(l.containerd(n.Name), "state") + `"`,
			`address = "` + l.socket(n.Name) + `"`,
			`Root = "` + filepath.Join(l.containerd(n.Name), "runc") + `"`,
			`conf_dir = "` + l.cniConfDir(n.Name) + `"`,
			"restrict_oom_score_adj = true",
			`sandbox_image = "registry.k8s.io/pause:3.10"`,
			"SystemdCgroup = false",
		} {
			if !strings.Contains(cd, want) {
				t.Errorf("%s's containerd config lacks %s", n.Name, want)
			}
		}
		if strings.Contains(cd, "/var/run/docker") || strings.Contains(cd, "/run/containerd") {
			t.Errorf("%s's containerd config names the host's containerd paths", n.Name)
		}

		var cni struct {
			Name    string
			Plugins []struct {
				Type, Bridge string
				IPAM         struct {
					Ranges  [][]struct{ Subnet, Gateway string }
					DataDir string
				}
			}
		}
		if err := json.Unmarshal([]byte(cniConfig(l, n)), &cni); err != nil {
			t.Fatalf("%s's CNI config: %v", n.Name, err)
		}
		br := cni.Plugins[0]
		if cni.Name != n.Network || br.Type != "bridge" || br.Bridge != n.Bridge ||
			br.IPAM.Ranges[0][0].Subnet != n.PodCIDR || br.IPAM.DataDir != l.cniIPAM(n.Name) {
			t.Errorf("%s's CNI config %+v", n.Name, cni)
		}
		if len(n.Bridge) > 15 {
			t.Errorf("bridge name %q is longer than an interface name may be", n.Bridge)
		}

		var kc map[string]any
		if err := yaml.Unmarshal([]byte(kubeletConfig(l, n, p)), &kc); err != nil {
			t.Fatalf("%s's kubelet config: %v", n.Name, err)
		}
		for k, want := range map[string]any{
			"address": n.IP, "port": n.KubeletPort, "healthzPort": n.KubeletHealthz,
			"cgroupRoot": n.CgroupRoot, "podLogsDir": l.podLogs(n.Name), "podCIDR": n.PodCIDR,
			"containerRuntimeEndpoint": "unix://" + l.socket(n.Name), "cgroupDriver": "cgroupfs",
			"readOnlyPort": 0, "tlsCertFile": p.cert("kubelet-" + n.Name + "-serving"),
		} {
			if kc[k] != want {
				t.Errorf("%s's kubelet %s = %v, want %v", n.Name, k, kc[k], want)
			}
		}
		argv := strings.Join(kubeletArgv(l, st, n), " ")
		for _, want := range []string{"--root-dir=" + l.kubelet(n.Name), "--node-labels=topology.kubernetes.io/zone=" + n.Zone, "--hostname-override=" + n.Name} {
			if !strings.Contains(argv, want) {
				t.Errorf("%s's kubelet command lacks %s", n.Name, want)
			}
		}
		for what, v := range map[string]string{
			"root": l.containerd(n.Name), "socket": l.socket(n.Name), "bridge": n.Bridge, "subnet": n.PodCIDR,
			"ip": n.IP, "cgroup": n.CgroupRoot, "kubelet root": l.kubelet(n.Name), "pod logs": l.podLogs(n.Name),
			"zone": n.Zone, "network": n.Network,
		} {
			own(n.Name, what, v)
		}
	}
	if zones := []string{st.Nodes[0].Zone, st.Nodes[1].Zone, st.Nodes[2].Zone}; !slices.Equal(zones, []string{"zone-a", "zone-b", "zone-c"}) {
		t.Errorf("zones %v", zones)
	}
}

// Every port is chosen free at Up and none is used twice; the apiserver
// and the other components listen on 127.0.0.1 only.
func TestPortsAreFreeAndDistinct(t *testing.T) {
	st, p, l := testState(t, 3)
	all := []int{st.Ports.EtcdClient, st.Ports.EtcdPeer, st.Ports.APIServer, st.Ports.ControllerManager,
		st.Ports.Scheduler, st.Ports.ProxyHealthz, st.Ports.ProxyMetrics}
	for _, n := range st.Nodes {
		all = append(all, n.KubeletPort, n.KubeletHealthz)
	}
	seen := map[int]bool{}
	for _, port := range all {
		if port <= 0 || seen[port] {
			t.Errorf("port %d chosen twice or not at all (%v)", port, all)
		}
		seen[port] = true
	}
	api := strings.Join(apiserverArgv(l, st, p), " ")
	for _, want := range []string{"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(st.Ports.APIServer), "--kubelet-certificate-authority=" + p.cert("ca")} {
		if !strings.Contains(api, want) {
			t.Errorf("the apiserver's command lacks %s", want)
		}
	}
	for _, argv := range [][]string{controllerManagerArgv(l, st, p), schedulerArgv(l, st, p)} {
		if !slices.Contains(argv, "--bind-address=127.0.0.1") {
			t.Errorf("%s binds beyond 127.0.0.1", argv[0])
		}
	}
	proxy := strings.Join(kubeProxyArgv(l, st), " ")
	if !strings.Contains(proxy, "--proxy-mode=nftables") || !strings.Contains(proxy, "127.0.0.1:"+strconv.Itoa(st.Ports.ProxyHealthz)) {
		t.Errorf("kube-proxy: %s", proxy)
	}
	if etcd := strings.Join(etcdArgv(l, st), " "); strings.Contains(etcd, "0.0.0.0") || !strings.Contains(etcd, "127.0.0.1:"+strconv.Itoa(st.Ports.EtcdClient)) {
		t.Errorf("etcd: %s", etcd)
	}
}

// iptables -S lines split as iptables reads them: a quoted comment with
// escaped quotes is one argument.
func TestSplitRule(t *testing.T) {
	got := splitRule(`-A POSTROUTING -s 10.244.0.5/32 -m comment --comment "name: \"paydrill-ab12cd-node1\" id: \"0123\"" -j CNI-3f2a`)
	want := []string{"-A", "POSTROUTING", "-s", "10.244.0.5/32", "-m", "comment", "--comment", `name: "paydrill-ab12cd-node1" id: "0123"`, "-j", "CNI-3f2a"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if ruleTarget(got) != "CNI-3f2a" {
		t.Errorf("target %q", ruleTarget(got))
	}
}

// A process is stopped only while its PID still runs the command line the
// state recorded: a PID since given to another program is left alone.
func TestStopChecksTheCommandLine(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep command")
	}
	c := &Cluster{Dir: t.TempDir()}
	p, err := c.start("sleeper", []string{sleep, "30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.running(p) {
		t.Fatal("a process just started is not running")
	}
	// Another Cluster value (another paydrill process) knows it only from
	// the state: by its command line.
	other := &Cluster{Dir: c.Dir}
	wrong := p
	wrong.Argv = []string{sleep, "31"}
	if other.running(wrong) {
		t.Error("a PID running another command line counts as ours")
	}
	if err := other.stop(wrong, time.Second); err != nil {
		t.Fatal(err)
	}
	if !cmdlineIs(p.PID, p.Argv) {
		t.Fatal("a process whose command line differs from the state was signalled")
	}
	if !other.running(p) {
		t.Error("the process is not recognised from its recorded command line")
	}
	began := time.Now()
	if err := c.stop(p, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if c.running(p) || time.Since(began) > 4*time.Second {
		t.Errorf("stop took %s and left it running=%v", time.Since(began), c.running(p))
	}
	if s := procState(p.PID); s != "" && s != "Z" {
		t.Errorf("the stopped process is in state %q", s)
	}
	if data, err := os.ReadFile(p.Log); err != nil || len(data) != 0 {
		t.Errorf("its log %s: %v %q", p.Log, err, data)
	}
}

// A missing program is named with the Debian package that installs it.
func TestPrerequisitesNameTheDebianPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		if err := checkPrerequisites(); err == nil || !strings.Contains(err.Error(), "root") {
			t.Errorf("not root: %v", err)
		}
		return
	}
	saved := requirements
	defer func() { requirements = saved }()
	requirements = append(slices.Clone(saved), requirement{"/nonexistent/etcd", "etcd-server", false}, requirement{"no-such-tool-xyz", "nftables", true})
	err := checkPrerequisites()
	if err == nil {
		t.Fatal("nothing missing")
	}
	for _, want := range []string{"/nonexistent/etcd", "no-such-tool-xyz", "apt-get install", "etcd-server", "nftables"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	pkgs := DebianPackages()
	for _, want := range []string{"etcd-server", "containerd", "runc", "containernetworking-plugins", "nftables", "iptables", "conntrack", "iproute2"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("DebianPackages %v lacks %s", pkgs, want)
		}
	}
}

// The build is keyed by the embedded modules: each is there, and the
// stamp changes with them.
func TestBuildModulesAreEmbedded(t *testing.T) {
	for rel, src := range buildFiles {
		data, err := buildmod.ReadFile(src)
		if err != nil || len(data) == 0 {
			t.Errorf("%s (%s): %v", rel, src, err)
		}
		if strings.HasSuffix(rel, "go.mod") && !strings.Contains(string(data), "k8s.io/kubernetes v1.34.0") {
			t.Errorf("%s does not require k8s.io/kubernetes v1.34.0", rel)
		}
	}
	if s := buildStamp(); len(s) != 64 || s != buildStamp() {
		t.Errorf("stamp %q is not a stable hash", s)
	}
}

// A network some interface already has is refused: a second cluster (in
// another directory) beside one that is up.
func TestAddressesInUseAreRefused(t *testing.T) {
	st, _, _ := testState(t, 1)
	err := checkAddressesFree(st)
	if linkExists("pd" + clusterID(DefaultDir()) + "h") {
		if err == nil || !strings.Contains(err.Error(), "another cluster") {
			t.Errorf("a second cluster beside the default one, up: %v", err)
		}
	} else if err != nil {
		t.Skipf("this host already uses the cluster's networks: %v", err)
	}
	_, pods, _ := net.ParseCIDR(podNetwork)
	if !pods.Contains(net.ParseIP(st.Nodes[0].Gateway)) {
		t.Errorf("node 1's gateway %s is outside %s", st.Nodes[0].Gateway, podNetwork)
	}
}
