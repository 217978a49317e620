package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Status is what a local cluster is doing.
type Status struct {
	// Up is true when every recorded process runs, the apiserver is ready
	// and every node is Ready; Reason says why not otherwise.
	Up     bool   `json:"up"`
	Reason string `json:"reason,omitempty"`
	Dir    string `json:"dir"`
	// Kubeconfig is the admin kubeconfig (context "paydrill-local"),
	// APIServer the apiserver's URL; empty when nothing is recorded.
	Kubeconfig string    `json:"kubeconfig,omitempty"`
	APIServer  string    `json:"apiserver,omitempty"`
	Nodes      []Node    `json:"nodes,omitempty"`
	Processes  []Process `json:"processes,omitempty"`
}

// Node is one node of the cluster.
type Node struct {
	Name    string `json:"name"`
	Zone    string `json:"zone"` // its topology.kubernetes.io/zone label
	IP      string `json:"ip"`
	PodCIDR string `json:"pod_cidr"`
	Ready   bool   `json:"ready"`
}

// Process is one process Up started.
type Process struct {
	Name    string `json:"name"`
	PID     int    `json:"pid"`
	Running bool   `json:"running"`
	Log     string `json:"log"`
}

// Status reports whether the cluster is up, its nodes with their zones
// and readiness (as the apiserver has them), its kubeconfig, the API's
// URL and its processes. A cluster that is not up is not an error: the
// error is for a state file that cannot be read.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	st, err := c.loadState()
	if err != nil {
		return Status{Dir: c.dir()}, err
	}
	if st == nil {
		return Status{Dir: c.dir(), Reason: "no cluster is recorded in " + c.dir()}, nil
	}
	return c.status(ctx, st), nil
}

func (c *Cluster) status(ctx context.Context, st *state) Status {
	s := Status{Dir: st.Dir, Kubeconfig: c.Kubeconfig(), APIServer: st.apiURL()}
	var down []string
	for _, p := range st.Procs {
		ok := c.running(p)
		s.Processes = append(s.Processes, Process{Name: p.Name, PID: p.PID, Running: ok, Log: p.Log})
		if !ok {
			down = append(down, p.Name)
		}
	}
	for _, n := range st.Nodes {
		s.Nodes = append(s.Nodes, Node{Name: n.Name, Zone: n.Zone, IP: n.IP, PodCIDR: n.PodCIDR})
	}
	want := 3 + 2*len(st.Nodes) + 2 // etcd, apiserver, proxy; containerd+kubelet per node; cm, scheduler
	switch {
	case len(down) > 0:
		s.Reason = "not running: " + strings.Join(down, ", ")
		return s
	case len(st.Procs) < want:
		s.Reason = fmt.Sprintf("only %d of its %d processes were started", len(st.Procs), want)
		return s
	}
	tlsc, err := loadAdminTLS(filepath.Join(st.Dir, "pki"))
	if err != nil {
		s.Reason = err.Error()
		return s
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if body, err := httpGet(cctx, tlsc, st.apiURL()+"/readyz"); err != nil || body != "ok" {
		s.Reason = fmt.Sprintf("the apiserver is not ready: %v", err)
		return s
	}
	cs, err := c.clientset()
	if err != nil {
		s.Reason = err.Error()
		return s
	}
	list, err := cs.CoreV1().Nodes().List(cctx, metav1.ListOptions{})
	if err != nil {
		s.Reason = "listing the nodes: " + err.Error()
		return s
	}
	var notReady []string
	for i := range s.Nodes {
		n := &s.Nodes[i]
		found := false
		for j := range list.Items {
			if list.Items[j].Name == n.Name {
				found = true
				n.Ready = nodeReady(&list.Items[j])
				if z := list.Items[j].Labels[ZoneLabel]; z != "" {
					n.Zone = z
				}
			}
		}
		if !found || !n.Ready {
			notReady = append(notReady, n.Name)
		}
	}
	if len(notReady) > 0 {
		s.Reason = "not Ready: " + strings.Join(notReady, ", ")
		return s
	}
	s.Up = true
	return s
}
