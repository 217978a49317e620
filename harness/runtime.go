package harness

import (
	"context"
	"errors"
	"fmt"
)

// Runtime boots the simulated system of a Plan somewhere: in this process
// (Embedded) or in containers (docker).
type Runtime interface {
	// Name is what the result reports: "embedded" or "docker".
	Name() string
	// Start boots every component and every link; dir is the run's
	// directory, where stores are left for a person to query.
	Start(ctx context.Context, p *Plan, dir string) (*System, error)
	// Supports says whether the runtime can apply a fault of this kind
	// (a toxic, down, or a container fault), so a scenario it cannot run
	// is refused before anything starts.
	Supports(kind string) bool
}

// System is a booted simulated system, however it runs.
type System struct {
	// Edge is the base URL the load is sent to.
	Edge string
	// Components maps a role ("gateway", "db", "capture", "edge", "router",
	// "replayer", "reconciler", "dyno[1]"...) to a base URL the harness can
	// reach for exports and status, bypassing toxiproxy.
	Components map[string]string
	// Dynos is the number of dyno instances.
	Dynos int
	// Links holds the toxiproxy proxies of every link.
	Links *Links
	// Container applies a container fault (kill, stop, restart, pause) to a
	// target; nil where the runtime has no containers.
	Container func(ctx context.Context, target, fault string) error

	closers []func() error
}

// Close stops every component, last started first.
func (s *System) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *System) onClose(f func() error) { s.closers = append(s.closers, f) }

// dynoRole names the i-th dyno (1-based).
func dynoRole(i int) string { return fmt.Sprintf("dyno[%d]", i) }
