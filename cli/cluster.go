package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"paydrill/harness/exit"
	"paydrill/harness/kubernetes/cluster"
)

// newCluster is `paydrill cluster up|down|status`: a local Kubernetes
// cluster on this machine, built offline (harness/kubernetes/cluster).
func newCluster(env Env) *cobra.Command {
	var dir string
	get := func() *cluster.Cluster {
		c := cluster.Default()
		if dir != "" {
			c.Dir = dir
		}
		c.Log = env.Stderr
		return c
	}
	cmd := &cobra.Command{
		Use:   "cluster up|down|status",
		Short: "A local Kubernetes cluster on this machine, built offline",
		Long: fmt.Sprintf(`Start, stop and inspect a real Kubernetes %[1]s cluster on this one
machine, for the kubernetes runtime's tests and for users without a cluster.
Nothing is pulled from a container registry.

What "up" builds and starts:
  - the Kubernetes binaries (kube-apiserver, kube-controller-manager,
    kube-scheduler, kubelet, kube-proxy), built once with go build from the
    Go module proxy into %[2]s
    (about 30 minutes on 2 cores with a cold Go build cache, about 1 minute
    warm; kept by "down", like a build cache);
  - etcd, the control plane on 127.0.0.1, one kube-proxy (nftables mode),
    and --nodes kubelets (default 2, at most 3), each node with its own
    containerd, CNI bridge and pod subnet, labelled
    topology.kubernetes.io/zone=zone-a, zone-b, zone-c;
  - the pod sandbox image registry.k8s.io/pause:3.10, written from this
    paydrill binary (paydrill pause), and certificates made for the run.
From nothing to every node Ready takes about 15 seconds on 2 cores once
the binaries exist. Ports are chosen free each time.

State (certificates, configs, etcd, containerd, kubelets, logs) lives in
--dir (default $PAYDRILL_CLUSTER_DIR, else %[3]s). The admin
kubeconfig is DIR/kubeconfig, context %[4]q:
  KUBECONFIG=$(paydrill cluster status --kubeconfig-path) kubectl get nodes

"down" deletes the pods, stops every process "up" started (by PID), and
removes the bridges, kube-proxy's nft tables, the CNI iptables chains,
mounts, network namespaces, cgroups and DIR's state. It never touches the
Docker daemon or its containerd. "status" exits 0 when the cluster is up
with every node Ready, 3 otherwise.

Needs root, Go (for the first build) and the Debian packages
  %[5]s
(apt-get install them).`, cluster.KubernetesVersion, cluster.BuildDir(), cluster.DefaultDir(), cluster.ContextName,
			strings.Join(cluster.DebianPackages(), " ")),
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exit.BadInput(errors.New("cluster: say up, down or status (see paydrill cluster --help)"))
		},
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "the cluster's state directory (default $PAYDRILL_CLUSTER_DIR, else "+cluster.DefaultDir()+")")

	var nodes int
	up := &cobra.Command{
		Use:   "up",
		Short: "Build (once) and start the local cluster, or find it up",
		Long: `Build the Kubernetes binaries when they are missing, then start etcd, the
control plane, kube-proxy and --nodes kubelets each with its own containerd,
and wait until every node is Ready and the default ServiceAccount exists.
A cluster already up and healthy is left as it is ("already up"); one that
is recorded but not healthy is taken down and started again. On failure it
names the step, shows the end of that process's log and stops what it
started. See paydrill cluster --help.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := get()
			if cmd.Flags().Changed("nodes") {
				if nodes < 1 || nodes > cluster.MaxNodes {
					return exit.BadInput(fmt.Errorf("cluster up: --nodes %d: a local cluster has 1 to %d nodes", nodes, cluster.MaxNodes))
				}
				c.Nodes = nodes
			}
			if err := c.Up(cmd.Context()); err != nil {
				return exit.CannotRun(fmt.Errorf("cluster up: %w", err))
			}
			fmt.Fprintf(env.Stdout, "kubeconfig: %s\n", c.Kubeconfig())
			return nil
		},
	}
	up.Flags().IntVar(&nodes, "nodes", cluster.DefaultNodes, fmt.Sprintf("number of nodes (1 to %d), one zone each", cluster.MaxNodes))

	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the local cluster and remove everything it made (the binaries stay)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := get().Down(cmd.Context()); err != nil {
				return exit.CannotRun(fmt.Errorf("cluster down: %w", err))
			}
			return nil
		},
	}

	var pathOnly bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the local cluster is up: nodes, zones, kubeconfig, API (exit 3 when not up)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := get()
			c.Log = nil
			s, err := c.Status(cmd.Context())
			if err != nil {
				return exit.CannotRun(fmt.Errorf("cluster status: %w", err))
			}
			if !s.Up {
				return exit.CannotRun(fmt.Errorf("cluster status: not up: %s", s.Reason))
			}
			if pathOnly {
				fmt.Fprintln(env.Stdout, s.Kubeconfig)
				return nil
			}
			fmt.Fprintf(env.Stdout, "up: %d nodes Ready\n", len(s.Nodes))
			for _, n := range s.Nodes {
				fmt.Fprintf(env.Stdout, "  %-6s %-7s %-11s pods %s\n", n.Name, n.Zone, n.IP, n.PodCIDR)
			}
			fmt.Fprintf(env.Stdout, "kubeconfig: %s (context %s)\n", s.Kubeconfig, cluster.ContextName)
			fmt.Fprintf(env.Stdout, "API: %s\n", s.APIServer)
			fmt.Fprintf(env.Stdout, "processes:")
			for _, p := range s.Processes {
				fmt.Fprintf(env.Stdout, " %s=%d", p.Name, p.PID)
			}
			fmt.Fprintln(env.Stdout)
			return nil
		},
	}
	status.Flags().BoolVar(&pathOnly, "kubeconfig-path", false, "print only the admin kubeconfig's path")
	cmd.AddCommand(up, down, status)
	return cmd
}
