// Package cluster starts and stops a real Kubernetes cluster on this one
// machine, offline: `paydrill cluster up|down|status`, and what the
// kubernetes runtime's tests run against when the user has no cluster.
//
// Nothing comes from a container registry. The Kubernetes binaries
// (v1.34.0: kube-apiserver, kube-controller-manager, kube-scheduler,
// kubelet, kube-proxy) are built from the Go module proxy once and kept
// in the user's cache (Build); the pod sandbox image registry.k8s.io/pause
// is written locally from the static paydrill binary (`paydrill pause`);
// images the user runs are imported into every node (ImportImage).
//
// Up starts, as root, Debian's etcd, the control plane bound to 127.0.0.1,
// one kube-proxy (nftables mode) and Nodes kubelets. Every node has its own
// containerd (Debian's 1.6: its own config, root and state directories,
// socket, runc root, CNI bridge and pod subnet), its own kubelet root,
// pod log directory, ports and cgroup root, and the zone label
// topology.kubernetes.io/zone=zone-a, zone-b, zone-c: a multi-zone cluster
// the redundancy settings of the HA/DR seed can be tried on. Certificates
// and kubeconfigs are generated here (crypto/x509); every port is chosen
// free when the cluster comes up and recorded in the state file.
//
// Down removes everything Up made: pods first (so the CNI plugins undo
// their own rules and network namespaces), then the processes (by the PIDs
// in the state, checked against /proc/PID/cmdline before any signal), the
// bridges, kube-proxy's nft tables, the CNI iptables chains of our
// networks, mounts under Dir, our pods' network namespaces, our cgroups and
// the state directory. It never touches anything it did not start: not the
// Docker daemon nor its containerd, which the docker runtime uses beside.
// The binaries stay (a cache).
//
// Everything is bounded in time: every wait has a timeout and says what it
// waited for. Traffic goes to 127.0.0.1 and to the cluster's own node, pod
// and service addresses only.
package cluster

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Cluster is a local cluster kept in Dir.
type Cluster struct {
	// Dir holds the cluster's state: certificates, configs, etcd's data,
	// containerd's and the kubelets' directories, logs. Down removes it.
	Dir string
	// Nodes is the number of kubelets (1 to 3) Up starts; 0 means 2 for a
	// new cluster and whatever is running for one already up.
	Nodes int
	// Log, when not nil, is told each step as it happens.
	Log io.Writer

	mu       sync.Mutex
	began    time.Time
	children map[int]*child // processes this value started, to reap them
}

// DefaultNodes is the number of nodes of a new cluster when Nodes is 0.
const DefaultNodes = 2

// MaxNodes is the most nodes (and zones) a local cluster has.
const MaxNodes = 3

// Default is the cluster of $PAYDRILL_CLUSTER_DIR, or of the user's cache
// directory (~/.cache/paydrill/cluster).
func Default() *Cluster {
	return &Cluster{Dir: DefaultDir()}
}

// DefaultDir is $PAYDRILL_CLUSTER_DIR, else paydrill/cluster in the
// user's cache directory.
func DefaultDir() string {
	if d := os.Getenv("PAYDRILL_CLUSTER_DIR"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return filepath.Join(cache, "paydrill", "cluster")
}

// Kubeconfig is the admin kubeconfig's path (context "paydrill-local"),
// written by Up.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.dir(), "kubeconfig") }

// HostPathRoot is a host directory pods may mount as hostPath volumes
// (e.g. for stores that outlive a pod). It is inside Dir: Down removes it.
func (c *Cluster) HostPathRoot() string { return filepath.Join(c.dir(), "hostpath") }

// ContextName is the admin kubeconfig's context (and cluster) name.
const ContextName = "paydrill-local"

func (c *Cluster) dir() string {
	if c.Dir == "" {
		return DefaultDir()
	}
	if abs, err := filepath.Abs(c.Dir); err == nil {
		return abs
	}
	return c.Dir
}

// logf writes one progress line, prefixed with the seconds since the
// current Up or Down began.
func (c *Cluster) logf(format string, args ...any) {
	if c.Log == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if c.began.IsZero() {
		fmt.Fprintln(c.Log, msg)
		return
	}
	fmt.Fprintf(c.Log, "[%6.2fs] %s\n", time.Since(c.began).Seconds(), msg)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
