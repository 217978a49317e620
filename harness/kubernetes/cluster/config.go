package cluster

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// layout is where a cluster keeps each thing under Dir.
type layout struct{ dir string }

func (l layout) pki() string                { return filepath.Join(l.dir, "pki") }
func (l layout) etc() string                { return filepath.Join(l.dir, "etc") }
func (l layout) etcd() string               { return filepath.Join(l.dir, "etcd") }
func (l layout) logs() string               { return filepath.Join(l.dir, "logs") }
func (l layout) images() string             { return filepath.Join(l.dir, "images") }
func (l layout) run() string                { return filepath.Join(l.dir, "run") }
func (l layout) containerd(n string) string { return filepath.Join(l.dir, "containerd", n) }
func (l layout) kubelet(n string) string    { return filepath.Join(l.dir, "kubelet", n) }
func (l layout) podLogs(n string) string    { return filepath.Join(l.dir, "logs", "pods-"+n) }
func (l layout) socket(n string) string     { return filepath.Join(l.dir, "run", n, "containerd.sock") }
func (l layout) cniConfDir(n string) string { return filepath.Join(l.dir, "etc", "cni", n) }
func (l layout) cniIPAM(n string) string    { return filepath.Join(l.containerd(n), "cni-ipam") }
func (l layout) containerdConf(n string) string {
	return filepath.Join(l.dir, "etc", "containerd-"+n+".toml")
}
func (l layout) kubeletConf(n string) string {
	return filepath.Join(l.dir, "etc", "kubelet-"+n+".yaml")
}

// owned are the entries of Dir that Up makes and Down removes (nothing
// else in Dir is touched: --dir may name a directory holding other files).
var owned = []string{"pki", "etc", "etcd", "containerd", "kubelet", "run", "logs", "images", "hostpath", "kubeconfig", "kubeconfig.tmp", "state.json", "state.json.tmp"}

// runcBinary and cniBinDir are Debian's (packages runc and
// containernetworking-plugins).
const (
	runcBinary = "/usr/sbin/runc"
	cniBinDir  = "/usr/lib/cni"
	pauseImage = "registry.k8s.io/pause:3.10"
)

// containerdConfig is node n's containerd: its own root, state, socket,
// runc root and CNI configuration, the CRI plugin on, nothing listening on
// TCP but the CRI streaming server on 127.0.0.1 (a kernel-chosen port).
// The pods' network namespaces are mounted under its state directory (not
// /var/run/netns): inside Dir, where Down finds them.
// restrict_oom_score_adj: without CAP_SYS_RESOURCE runc cannot lower a
// container's oom_score_adj below its own and every sandbox fails
// ("can't get final child's PID from pipe").
func containerdConfig(l layout, n nodeState) string {
	root := l.containerd(n.Name)
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[6]q
        BinaryName = %[7]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[8]q
    conf_dir = %[9]q
    max_conf_num = 1
`, filepath.Join(root, "root"), filepath.Join(root, "state"), l.socket(n.Name), filepath.Join(root, "opt"),
		pauseImage, filepath.Join(root, "runc"), runcBinary, cniBinDir, l.cniConfDir(n.Name))
}

// cniConfig is node n's pod network: a bridge of its own as the pods'
// gateway with masquerading out, host-local addresses from its /24 kept in
// Dir, and the firewall plugin's FORWARD accepts (Docker sets FORWARD's
// policy to DROP, which would drop pod-to-pod traffic across nodes). No
// portmap plugin: hostPort is not offered (reach pods by IP or Service).
func cniConfig(l layout, n nodeState) string {
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       n.Network,
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      n.Bridge,
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"ranges":  []any{[]any{map[string]any{"subnet": n.PodCIDR, "gateway": n.Gateway}}},
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
					"dataDir": l.cniIPAM(n.Name),
				},
			},
			map[string]any{"type": "firewall", "backend": "iptables"},
		},
	}
	data, _ := json.MarshalIndent(conf, "", "  ")
	return string(data) + "\n"
}

// kubeletConfig is node n's kubelet: served on the node's IP at its own
// port with a certificate of our CA, webhook authentication and
// authorization against the apiserver, the node's own containerd, cgroup
// root (cgroupfs, as containerd's runc) and pod log directory. Two
// kubelets sharing a podLogsDir or root garbage-collect each other's files.
func kubeletConfig(l layout, n nodeState, p *pki) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
tlsCertFile: %s
tlsPrivateKeyFile: %s
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: %s
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://%s
imageServiceEndpoint: unix://%s
podCIDR: %s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization:
  mode: Webhook
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
registerNode: true
serializeImagePulls: false
enforceNodeAllocatable: ["pods"]
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%%", "imagefs.available": "1%%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
localStorageCapacityIsolation: true
protectKernelDefaults: false
makeIPTablesUtilChains: false
nodeStatusReportFrequency: 10s
syncFrequency: 10s
podLogsDir: %s
`, n.IP, n.KubeletPort, n.KubeletHealthz, p.cert("kubelet-"+n.Name+"-serving"), p.key("kubelet-"+n.Name+"-serving"),
		n.CgroupRoot, l.socket(n.Name), l.socket(n.Name), n.PodCIDR, p.cert("ca"), l.podLogs(n.Name))
}

// Command lines, one function each: what Up starts and what Down checks
// /proc/PID/cmdline against.

func etcdArgv(l layout, st *state) []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", st.Ports.EtcdClient)
	peer := fmt.Sprintf("http://127.0.0.1:%d", st.Ports.EtcdPeer)
	return []string{"/usr/bin/etcd", "--name=paydrill", "--data-dir=" + l.etcd(),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=paydrill=" + peer, "--initial-cluster-state=new"}
}

func apiserverArgv(l layout, st *state, p *pki) []string {
	return []string{filepath.Join(st.BinDir, "kube-apiserver"),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(st.Ports.APIServer),
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", st.Ports.EtcdClient),
		"--service-cluster-ip-range=" + serviceNetwork,
		"--cert-dir=" + filepath.Join(l.pki(), "apiserver"),
		"--tls-cert-file=" + p.cert("apiserver"), "--tls-private-key-file=" + p.key("apiserver"),
		"--client-ca-file=" + p.cert("ca"),
		"--kubelet-client-certificate=" + p.cert("apiserver-kubelet-client"),
		"--kubelet-client-key=" + p.key("apiserver-kubelet-client"),
		"--kubelet-certificate-authority=" + p.cert("ca"),
		"--kubelet-preferred-address-types=InternalIP",
		"--service-account-key-file=" + p.path("sa.pub"),
		"--service-account-signing-key-file=" + p.key("sa"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--api-audiences=https://kubernetes.default.svc.cluster.local",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1"}
}

func controllerManagerArgv(l layout, st *state, p *pki) []string {
	kc := filepath.Join(l.pki(), "controller-manager.kubeconfig")
	return []string{filepath.Join(st.BinDir, "kube-controller-manager"),
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(st.Ports.ControllerManager),
		"--tls-cert-file=" + p.cert("localhost-serving"), "--tls-private-key-file=" + p.key("localhost-serving"),
		"--cert-dir=" + filepath.Join(l.pki(), "controller-manager"),
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + p.key("sa"),
		"--root-ca-file=" + p.cert("ca"),
		"--cluster-signing-cert-file=" + p.cert("ca"), "--cluster-signing-key-file=" + p.key("ca"),
		"--allocate-node-cidrs=false",
		"--service-cluster-ip-range=" + serviceNetwork,
		"--controllers=*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
		"--profiling=false",
		"--v=1"}
}

func schedulerArgv(l layout, st *state, p *pki) []string {
	kc := filepath.Join(l.pki(), "scheduler.kubeconfig")
	return []string{filepath.Join(st.BinDir, "kube-scheduler"),
		"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(st.Ports.Scheduler),
		"--tls-cert-file=" + p.cert("localhost-serving"), "--tls-private-key-file=" + p.key("localhost-serving"),
		"--cert-dir=" + filepath.Join(l.pki(), "scheduler"),
		"--leader-elect=false", "--profiling=false", "--v=1"}
}

// kubeProxyArgv is the one kube-proxy of the host (every node shares the
// host's network namespace), in nftables mode. It leaves the host's
// conntrack sysctls alone (0: do not set) and serves NodePorts on the
// node IPs only.
func kubeProxyArgv(l layout, st *state) []string {
	return []string{filepath.Join(st.BinDir, "kube-proxy"),
		"--kubeconfig=" + filepath.Join(l.pki(), "kube-proxy.kubeconfig"),
		"--hostname-override=" + st.Nodes[0].Name,
		"--proxy-mode=nftables",
		"--cluster-cidr=" + podNetwork,
		"--nodeport-addresses=" + nodeNetwork,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", st.Ports.ProxyMetrics),
		fmt.Sprintf("--healthz-bind-address=127.0.0.1:%d", st.Ports.ProxyHealthz),
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
		"--v=1"}
}

func containerdArgv(l layout, n nodeState) []string {
	return []string{"/usr/bin/containerd", "--config", l.containerdConf(n.Name), "--log-level", "info"}
}

func kubeletArgv(l layout, st *state, n nodeState) []string {
	return []string{filepath.Join(st.BinDir, "kubelet"),
		"--config=" + l.kubeletConf(n.Name),
		"--kubeconfig=" + filepath.Join(l.pki(), "kubelet-"+n.Name+".kubeconfig"),
		"--root-dir=" + l.kubelet(n.Name),
		"--cert-dir=" + filepath.Join(l.kubelet(n.Name), "pki"),
		"--hostname-override=" + n.Name,
		"--node-ip=" + n.IP,
		"--node-labels=" + ZoneLabel + "=" + n.Zone,
		"--v=1"}
}

// ZoneLabel is the node label holding each node's zone.
const ZoneLabel = "topology.kubernetes.io/zone"

// procName names node n's process of the given kind ("node1-kubelet").
func procName(n nodeState, kind string) string { return n.Name + "-" + kind }

func isNodeProc(name string) bool { return strings.HasPrefix(name, "node") }
