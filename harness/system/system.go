// Package system is the contract between the harness and a runtime: a
// Runtime realises a topology (harness/topology) somewhere, and gives back
// a System, the booted system the harness drives: its URLs, its links'
// toxiproxy relays (Links), and how to apply a container fault. The
// runtimes live in packages of their own (harness/embedded,
// harness/docker) and need nothing else from the harness.
package system

import (
	"context"
	"errors"
	"paydrill/harness/topology"
)

// Runtime boots a topology somewhere: in this process (harness/embedded)
// or in containers (harness/docker).
type Runtime interface {
	// Name is what the result reports: "embedded" or "docker".
	Name() string
	// Start boots every instance and every link of t; dir is the run's
	// directory, where stores are left for a person to query.
	Start(ctx context.Context, t *topology.Topology, dir string) (*System, error)
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

// OnClose adds f to what Close runs (last added, first run): a runtime
// registers each thing it starts as soon as it has started it.
func (s *System) OnClose(f func() error) { s.closers = append(s.closers, f) }

// URL is the base URL of role ("gateway", "dyno[2]"...) as in Components,
// "" for a role the system does not have.
//
// Both runtimes fill Components in Start and never change it afterwards
// (the docker runtime pins each container's published host port, so a
// container stopped or killed and started again by a fault answers on the
// same URL), so URL, like reading Components, is safe from any goroutine
// once Start has returned.
func (s *System) URL(role string) string { return s.Components[role] }
