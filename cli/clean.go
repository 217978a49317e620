package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"paydrill/harness/docker"
	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/kubernetes"
	"paydrill/harness/kubernetes/cluster"
)

// newClean is `paydrill clean`: it removes what docker runs left behind.
func newClean(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Remove what killed runs left behind: docker's containers, networks, volumes and images, memory stores, and Kubernetes namespaces",
		Long: `Remove every container, network, volume and image labelled paydrill.*:
what docker runs that crashed or were killed left behind (a run removes its
own at its end, on error and on Ctrl-C), and the image the docker runtime
builds and keeps for the next run (the next run builds it again).
Runs still going lose their containers too: clean when none is.

It also removes the stores embedded runs keep in memory while they run
(/dev/shm/paydrill-stores-PID-...) whose process no longer runs: a run
killed before it could copy them to its directory leaves them there (the
next run removes them too). Those of runs still going are left alone.

On a Kubernetes cluster (the local one when it is up, or $KUBECONFIG's),
it deletes every namespace labelled paydrill.run, gives back the nodes a
killed run had cordoned or taken out with a zone outage, and removes the
host directories of the local cluster's runs' stores.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if swept := embedded.SweepLiveStores(); len(swept) > 0 {
				fmt.Fprintf(env.Stdout, "removed the memory stores of killed runs (%d): %s\n", len(swept), strings.Join(swept, ", "))
			}
			if err := docker.Clean(cmd.Context(), env.Stdout); err != nil {
				return exit.CannotRun(fmt.Errorf("clean: %w", err))
			}
			k := kubernetes.Runtime{Local: cluster.Default()}
			if err := k.Clean(cmd.Context(), env.Stdout); err != nil {
				return exit.CannotRun(fmt.Errorf("clean: %w", err))
			}
			return nil
		},
	}
}
