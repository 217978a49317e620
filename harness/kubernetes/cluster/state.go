package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The addresses of a local cluster. Pod subnets are one /24 per node in
// podNetwork; each node's IP (what its kubelet serves on and reports as
// InternalIP: a kubelet refuses a loopback node IP) is a /32 on a host
// bridge of the cluster's own; services take serviceNetwork.
const (
	podNetwork          = "10.244.0.0/16"
	nodeNetwork         = "10.250.0.0/24"
	serviceNetwork      = "10.96.0.0/16"
	kubernetesServiceIP = "10.96.0.1"
	stateVersion        = 1
)

// state is what Up records in Dir/state.json before it creates anything,
// and completes as it goes: Down reads it to stop exactly what was
// started and remove exactly what was made.
type state struct {
	Version int    `json:"version"`
	Dir     string `json:"dir"`
	// ID names the host-wide things of this cluster (bridges, cgroups, CNI
	// networks): a hash of Dir.
	ID         string      `json:"id"`
	BinDir     string      `json:"bin_dir"`
	Started    time.Time   `json:"started"`
	Ports      ports       `json:"ports"`
	HostBridge string      `json:"host_bridge"`
	Nodes      []nodeState `json:"nodes"`
	Procs      []proc      `json:"procs"`
	// Created lists host directories outside Dir that did not exist before
	// Up (/var/run/netns, /var/log/containers, /var/lib/cni): Down removes
	// them when they are empty again.
	Created []string `json:"created,omitempty"`
}

// ports are the control plane's, each chosen free at Up.
type ports struct {
	EtcdClient        int `json:"etcd_client"`
	EtcdPeer          int `json:"etcd_peer"`
	APIServer         int `json:"apiserver"`
	ControllerManager int `json:"controller_manager"`
	Scheduler         int `json:"scheduler"`
	ProxyHealthz      int `json:"proxy_healthz"`
	ProxyMetrics      int `json:"proxy_metrics"`
}

// nodeState is one node: its zone, addresses, ports and the names of what
// it makes on the host.
type nodeState struct {
	Name           string `json:"name"`
	Zone           string `json:"zone"`
	IP             string `json:"ip"`
	PodCIDR        string `json:"pod_cidr"`
	Gateway        string `json:"gateway"`
	Bridge         string `json:"bridge"`
	Network        string `json:"network"` // the CNI network's name
	CgroupRoot     string `json:"cgroup_root"`
	KubeletPort    int    `json:"kubelet_port"`
	KubeletHealthz int    `json:"kubelet_healthz"`
}

// clusterID is the short hash of dir that names the cluster's host-wide
// things.
func clusterID(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:])[:6]
}

// newState plans a cluster of n nodes in dir, with free ports.
func newState(dir, binDir string, n int) (*state, error) {
	id := clusterID(dir)
	st := &state{Version: stateVersion, Dir: dir, ID: id, BinDir: binDir, Started: time.Now().UTC(),
		HostBridge: "pd" + id + "h"}
	free, err := freePorts(7 + 2*n)
	if err != nil {
		return nil, err
	}
	st.Ports = ports{EtcdClient: free[0], EtcdPeer: free[1], APIServer: free[2], ControllerManager: free[3],
		Scheduler: free[4], ProxyHealthz: free[5], ProxyMetrics: free[6]}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("node%d", i+1)
		st.Nodes = append(st.Nodes, nodeState{
			Name:           name,
			Zone:           "zone-" + string(rune('a'+i)),
			IP:             fmt.Sprintf("10.250.0.%d", i+1),
			PodCIDR:        fmt.Sprintf("10.244.%d.0/24", i),
			Gateway:        fmt.Sprintf("10.244.%d.1", i),
			Bridge:         fmt.Sprintf("pd%sn%d", id, i+1),
			Network:        "paydrill-" + id + "-" + name,
			CgroupRoot:     "/paydrill-" + id + "-" + name,
			KubeletPort:    free[7+2*i],
			KubeletHealthz: free[8+2*i],
		})
	}
	return st, nil
}

// freePorts returns n distinct ports free on 127.0.0.1 now: each is
// listened on (port 0: the kernel's choice) and released.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("choosing a free port on 127.0.0.1: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func (c *Cluster) statePath() string { return filepath.Join(c.dir(), "state.json") }

// loadState reads the state file; (nil, nil) when there is none.
func (c *Cluster) loadState() (*state, error) {
	data, err := os.ReadFile(c.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("the cluster's state file %s: %w", c.statePath(), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("the cluster's state file %s is of version %d, this paydrill reads %d", c.statePath(), st.Version, stateVersion)
	}
	return &st, nil
}

func (c *Cluster) saveState(st *state) error {
	if err := os.MkdirAll(c.dir(), 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(c.statePath(), append(data, '\n'), 0o644)
}

// proc returns the recorded process named name.
func (st *state) proc(name string) (proc, bool) {
	for _, p := range st.Procs {
		if p.Name == name {
			return p, true
		}
	}
	return proc{}, false
}

func (st *state) apiURL() string { return fmt.Sprintf("https://127.0.0.1:%d", st.Ports.APIServer) }
