package cli

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// newPause is the hidden `paydrill pause`: what the local Kubernetes
// cluster's sandbox image (registry.k8s.io/pause, built from this binary
// because no registry can be reached) runs as every pod's first process.
// It holds the pod's namespaces open, reaps the orphans the pod's
// containers leave it (it is their PID 1 when the pod shares its PID
// namespace), and exits 0 on SIGINT or SIGTERM.
func newPause() *cobra.Command {
	return &cobra.Command{
		Use:    "pause",
		Short:  "Wait for SIGINT or SIGTERM, reaping children (a pod sandbox's process)",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			pause(nil)
			return nil
		},
	}
}

// pause blocks until SIGINT or SIGTERM, reaping every child that exits
// meanwhile. ready, when not nil, is closed once the signals are handled.
func pause(ready chan<- struct{}) {
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	defer signal.Stop(sigs)
	if ready != nil {
		close(ready)
	}
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
