package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"paydrill/harness/docker"
	"paydrill/harness/exit"
)

// newClean is `paydrill clean`: it removes what docker runs left behind.
func newClean(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "clean",
		Short: "Remove the containers, networks, volumes and images docker runs left behind",
		Long: `Remove every container, network, volume and image labelled paydrill.*:
what docker runs that crashed or were killed left behind (a run removes its
own at its end, on error and on Ctrl-C), and the image the docker runtime
builds and keeps for the next run (the next run builds it again).
Runs still going lose their containers too: clean when none is.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := docker.Clean(cmd.Context(), env.Stdout); err != nil {
				return exit.CannotRun(fmt.Errorf("clean: %w", err))
			}
			return nil
		},
	}
}
