// Package fault is a run's fault schedule: each fault in wall time (Plan),
// the Scheduler that applies and lifts them at their offsets through a
// booted system's toxiproxy relays, container faults or Kubernetes
// disruptions, and when each was really in force (Window), which the
// checker reads.
package fault

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"paydrill/harness/system"
	"paydrill/scenarios"
)

// IsContainer says a fault kind acts on a container, applied by the
// runtime rather than toxiproxy.
func IsContainer(kind string) bool {
	k, ok := scenarios.LookupFaultKind(kind)
	return ok && k.Container
}

// IsKubernetes says a fault kind acts on the cluster (pod-kill,
// node-drain, zone-outage, scale), applied by the runtime through
// System.Disrupt rather than toxiproxy.
func IsKubernetes(kind string) bool {
	k, ok := scenarios.LookupFaultKind(kind)
	return ok && k.Kubernetes
}

// ZonePrefix starts the Link of a Kubernetes fault on a zone ("zone:b"),
// as "region:" starts a region's.
const ZonePrefix = "zone:"

// Plan is one scheduled fault in wall time.
type Plan struct {
	Index int // 1-based, as in the scenario
	Name  string
	// Link is a link name of DESIGN.md, a container fault's or a
	// Kubernetes fault's target ("dyno", "dyno[2]"), or a Kubernetes
	// fault's zone as ZonePrefix+zone ("zone:b").
	Link   string
	Toxic  string // toxiproxy toxic, "down", a container fault, or a Kubernetes fault
	Stream string
	At     time.Duration
	For    time.Duration // 0: until the load ends
	// Attributes in toxiproxy's units, already scaled to wall time.
	Attributes map[string]int64
	// Zone is a Kubernetes fault's zone ("a", "b", "c"; node-drain of a
	// zone, zone-outage), Replicas a scale fault's replica count.
	Zone     string
	Replicas int
}

// Disruption is the Kubernetes fault f as System.Disrupt is asked to
// apply it: its kind, its target (a role or one instance; "" for a
// zone's), its zone and its replica count.
func (f Plan) Disruption() system.Disruption {
	d := system.Disruption{Kind: f.Toxic, Zone: f.Zone, Replicas: f.Replicas}
	if !strings.HasPrefix(f.Link, ZonePrefix) {
		d.Target = f.Link
	}
	return d
}

// Window is when a fault was in force, in wall offsets from the load's
// start as the harness actually applied it (not as scheduled).
type Window struct {
	Fault    Plan
	Start    time.Duration
	End      time.Duration // the load's end when the fault had no "for"
	Lateness time.Duration // how late the harness applied it
	Err      string
}

// Scheduler applies and lifts faults at their wall offsets.
type Scheduler struct {
	sys    *system.System
	faults []Plan

	mu      sync.Mutex
	windows []Window
	primed  map[int]bool // faults applied before the load began
	// lifts are the lifts System.Disrupt returned for the Kubernetes
	// faults in force, by index: taken (and deleted) by whoever lifts
	// the fault first, at its end or in Heal.
	lifts map[int]func(context.Context) error
}

// Prime applies, before the load begins, every fault scheduled at 0, so
// the first orders already meet it.
func (s *Scheduler) Prime(ctx context.Context) {
	s.windows = make([]Window, len(s.faults))
	s.primed = map[int]bool{}
	for i, f := range s.faults {
		s.windows[i].Fault = f
		if f.At == 0 {
			if err := s.apply(ctx, i, f); err != nil {
				s.windows[i].Err = err.Error()
			}
			s.primed[i] = true
		}
	}
}

// faultEvent is one step of the schedule: apply or lift fault i.
type faultEvent struct {
	at    time.Duration
	i     int
	apply bool
}

// events orders every apply and lift in time; lifts first on ties, so a
// fault that ends when the next begins never overlaps it. Faults lasting
// until the load's end have no lift event.
func (s *Scheduler) events(total time.Duration) []faultEvent {
	var ev []faultEvent
	for i, f := range s.faults {
		ev = append(ev, faultEvent{at: f.At, i: i, apply: true})
		// A fault lasting to the end stays until the load has finished
		// (its last order may be due at the very end); the heal after the
		// load lifts it.
		if f.For > 0 && f.At+f.For < total {
			ev = append(ev, faultEvent{at: f.At + f.For, i: i, apply: false})
		}
	}
	sort.SliceStable(ev, func(a, b int) bool {
		if ev[a].at != ev[b].at {
			return ev[a].at < ev[b].at
		}
		return !ev[a].apply && ev[b].apply
	})
	return ev
}

// Run applies the schedule relative to began until ctx ends or the schedule
// is done; total is the load's wall duration. Prime must have run first.
func (s *Scheduler) Run(ctx context.Context, began time.Time, total time.Duration) {
	for _, e := range s.events(total) {
		if e.apply && s.primed[e.i] {
			continue
		}
		t := time.NewTimer(time.Until(began.Add(e.at)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Since(began)
		f := s.faults[e.i]
		var err error
		if e.apply {
			err = s.apply(ctx, e.i, f)
		} else {
			err = s.lift(ctx, e.i, f)
		}
		s.mu.Lock()
		w := &s.windows[e.i]
		if e.apply {
			w.Start = now
			w.Lateness = now - e.at
		} else {
			w.End = now
		}
		if err != nil && w.Err == "" {
			w.Err = err.Error()
		}
		s.mu.Unlock()
	}
}

// Windows returns what happened to every fault so far.
func (s *Scheduler) Windows() []Window {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Window(nil), s.windows...)
}

// Heal lifts every Kubernetes fault still in force (one lasting until
// the load's end, or whose end the schedule did not reach), as the links'
// Heal lifts their toxics: a drained node is uncordoned, a zone comes
// back, a role is scaled back. An error is recorded in the fault's
// Window, as at its end. Safe beside Run, and to call again.
func (s *Scheduler) Heal(ctx context.Context) {
	s.mu.Lock()
	var left []int
	for i := range s.lifts {
		left = append(left, i)
	}
	s.mu.Unlock()
	sort.Ints(left)
	for _, i := range left {
		if err := s.lift(ctx, i, s.faults[i]); err != nil {
			s.mu.Lock()
			if w := &s.windows[i]; w.Err == "" {
				w.Err = err.Error()
			}
			s.mu.Unlock()
		}
	}
}

func toxicName(f Plan) string { return fmt.Sprintf("fault%d", f.Index) }

// where names what f acts on, for errors: "dyno[2]", "zone b".
func where(f Plan) string {
	if z, ok := strings.CutPrefix(f.Link, ZonePrefix); ok {
		return "zone " + z
	}
	return f.Link
}

func (s *Scheduler) apply(ctx context.Context, i int, f Plan) error {
	if IsKubernetes(f.Toxic) {
		if s.sys.Disrupt == nil {
			return fmt.Errorf("fault %d: %s is a Kubernetes fault: it needs the kubernetes runtime", f.Index, f.Toxic)
		}
		lift, err := s.sys.Disrupt(ctx, f.Disruption())
		if lift != nil { // even with an error: what was done (a node cordoned) is undone at the end
			s.mu.Lock()
			s.lifts[i] = lift
			s.mu.Unlock()
		}
		if err != nil {
			return fmt.Errorf("fault %d (%s on %s): %w", f.Index, f.Toxic, where(f), err)
		}
		return nil
	}
	if IsContainer(f.Toxic) {
		if s.sys.Container == nil {
			return fmt.Errorf("fault %d: %s needs the docker runtime", f.Index, f.Toxic)
		}
		return s.sys.Container(ctx, f.Link, f.Toxic)
	}
	proxies, err := s.sys.Links.Proxies(f.Link)
	if err != nil {
		return err
	}
	for _, p := range proxies {
		if f.Toxic == "down" {
			err = p.Disable()
		} else {
			attrs := toxiclient.Attributes{}
			for k, v := range f.Attributes {
				attrs[k] = v
			}
			// toxicity 1.0: every connection (0 would mean never).
			_, err = p.AddToxic(toxicName(f), f.Toxic, f.Stream, 1.0, attrs)
		}
		if err != nil {
			return fmt.Errorf("fault %d on %s: %w", f.Index, f.Link, err)
		}
	}
	return nil
}

func (s *Scheduler) lift(ctx context.Context, i int, f Plan) error {
	if IsKubernetes(f.Toxic) {
		s.mu.Lock()
		lift := s.lifts[i]
		delete(s.lifts, i)
		s.mu.Unlock()
		if lift == nil {
			return nil
		}
		if err := lift(ctx); err != nil {
			return fmt.Errorf("lifting fault %d (%s on %s): %w", f.Index, f.Toxic, where(f), err)
		}
		return nil
	}
	if IsContainer(f.Toxic) {
		if f.Toxic == "stop" || f.Toxic == "pause" || f.Toxic == "kill" {
			return s.sys.Container(ctx, f.Link, "un"+f.Toxic)
		}
		return nil
	}
	proxies, err := s.sys.Links.Proxies(f.Link)
	if err != nil {
		return err
	}
	for _, p := range proxies {
		if f.Toxic == "down" {
			err = p.Enable()
		} else {
			err = p.RemoveToxic(toxicName(f))
		}
		if err != nil {
			return fmt.Errorf("lifting fault %d on %s: %w", f.Index, f.Link, err)
		}
	}
	return nil
}

// NewScheduler schedules faults against sys; call Prime before the load
// starts, then Run, and Heal once the load has ended.
func NewScheduler(sys *system.System, faults []Plan) *Scheduler {
	return &Scheduler{sys: sys, faults: faults, lifts: map[int]func(context.Context) error{}}
}
