// Package system is the contract between the harness and a runtime: a
// Runtime realises a topology (harness/topology) somewhere, and gives back
// a System, the booted system the harness drives: its URLs, its links'
// toxiproxy relays (Links), and how to apply a container fault. The
// runtimes live in packages of their own (harness/embedded,
// harness/docker) and need nothing else from the harness.
package system

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"paydrill/harness/topology"
	"paydrill/sim/wire"
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
	// (a toxic, down, a container fault or a Kubernetes fault) or has a
	// feature (FeatureStandby, FeatureRedundancy), so a scenario it
	// cannot run is refused before anything starts.
	Supports(kind string) bool
}

// ErrStoresNotKept is what Close returns (wrapped) when the stores could
// not be left in the run's directory, as every run promises.
var ErrStoresNotKept = errors.New("the stores could not be kept in the run's directory")

// FeatureStandby is what Runtime.Supports is asked about a system with a
// standby region: whether it can boot one and provision it later.
const FeatureStandby = "standby-region"

// FeatureRedundancy is what Runtime.Supports is asked about a system
// whose dynos have redundancy settings (topology.Configs.Redundancy:
// zones, spread, resource limits, probes, a disruption budget): whether
// it places them on nodes and honours them (the kubernetes runtime).
const FeatureRedundancy = "redundancy"

// Disruption is a Kubernetes fault as the runtime is asked to apply it.
type Disruption struct {
	Kind string // "pod-kill", "node-drain", "zone-outage", "scale"
	// Target is what it acts on: a role ("dyno": every instance, or the
	// nodes running them), one instance ("dyno[2]"), or "".
	Target string
	// Zone is a zone's letter ("a", "b"; node label zone-a...) for
	// zone-outage, and for a node-drain of every node of a zone.
	Zone string
	// Replicas is what scale sets the target's replica count to.
	Replicas int
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
	// Provision starts the deferred instances of a region (a warm
	// standby's dynos, a cold standby's every instance) and their links,
	// waits until each answers its health check, and tells the running
	// instances about them (topology.Rewire). Nil: the runtime cannot.
	Provision func(ctx context.Context, region string) error
	// Disrupt applies a Kubernetes fault (pod-kill, node-drain,
	// zone-outage, scale) and returns how to lift it at the fault's end
	// (nil: nothing to lift: a killed pod is replaced by its controller).
	// A disruption the cluster refuses (an eviction that would break a
	// PodDisruptionBudget) is an error naming the refusal. Nil: the
	// runtime has no cluster.
	Disrupt func(ctx context.Context, d Disruption) (lift func(context.Context) error, err error)
	// Stores is the directory on this host the running system's store
	// files are in (the docker runtime's: where it copies its volumes
	// to), where the harness writes a backup for a cold standby's db to
	// restore. The embedded runtime keeps them in memory while the
	// system runs and copies them to the run's stores directory when it
	// closes.
	Stores string
	// Peer is the base URL one component reaches another by (the
	// primary's db re-syncing from the standby's in a failback); nil:
	// URL, the harness's own address of it.
	Peer func(name string) string

	mu      sync.RWMutex // guards Components once Start has returned
	closers []func() error
}

// SetURL records the base URL of a component started after boot
// (provisioned), safe beside URL.
func (s *System) SetURL(name, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Components[name] = url
}

// Names lists the components running now.
func (s *System) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.Components))
	for n := range s.Components {
		out = append(out, n)
	}
	return out
}

// Close stops every component, last started first.
func (s *System) Close() error {
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// OnClose adds f to what Close runs (last added, first run): a runtime
// registers each thing it starts as soon as it has started it.
func (s *System) OnClose(f func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, f)
}

// URL is the base URL of role ("gateway", "dyno[2]"...) as in Components,
// "" for a role the system does not have.
//
// Both runtimes fill Components in Start and change it afterwards only
// through SetURL, when a region is provisioned (the docker runtime pins
// each container's published host port, so a container stopped or killed
// and started again by a fault answers on the same URL), so URL is safe
// from any goroutine once Start has returned.
func (s *System) URL(role string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Components[role]
}

// WaitHealthy polls the /healthz of each named component with client
// (nil: one with a 5 s timeout) until all answer 200, or timeout passes.
func (s *System) WaitHealthy(ctx context.Context, client *http.Client, names []string, timeout time.Duration) error {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	deadline := time.Now().Add(timeout)
	for _, name := range names {
		u := s.URL(name)
		for {
			resp, err := client.Get(u + wire.PathHealthz)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				err = errors.New(resp.Status)
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s did not become healthy at %s: %v", name, u, err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// Rewire makes the calls that tell running instances about newly
// provisioned ones (topology.Topology.Rewire).
func (s *System) Rewire(ctx context.Context, calls []topology.Call) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range calls {
		body, err := json.Marshal(c.Body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.URL(c.Instance)+c.Path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("telling %s about the provisioned region: %w", c.Instance, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("telling %s about the provisioned region: %s: %s", c.Instance, resp.Status, bytes.TrimSpace(msg))
		}
	}
	return nil
}
