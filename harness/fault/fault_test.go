package fault

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"paydrill/harness/system"
)

// call is one Disrupt or lift the fake cluster saw.
type call struct {
	what string // "disrupt" or "lift"
	d    system.Disruption
	at   time.Duration // since the schedule began
}

// fakeCluster is a System.Disrupt that records its calls; refuse makes
// a disruption fail (after doing part of it: the lift is returned too),
// failLift makes the lift of a kind fail.
type fakeCluster struct {
	mu       sync.Mutex
	began    time.Time
	calls    []call
	refuse   func(system.Disruption) error
	failLift map[string]error
	noLift   map[string]bool
}

func (c *fakeCluster) record(what string, d system.Disruption) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call{what, d, time.Since(c.began)})
}

func (c *fakeCluster) disrupt(_ context.Context, d system.Disruption) (func(context.Context) error, error) {
	c.record("disrupt", d)
	var lift func(context.Context) error
	if !c.noLift[d.Kind] {
		lift = func(context.Context) error { c.record("lift", d); return c.failLift[d.Kind] }
	}
	return lift, c.refuse(d)
}

// TestSchedulerDisruptsAndLifts checks a Kubernetes fault is applied at
// its offset through System.Disrupt with the Disruption its plan says,
// lifted at its end through the lift Disrupt returned (never when it
// returned none), one lasting to the end lifted by Heal, and an error
// from either recorded in the fault's window.
func TestSchedulerDisruptsAndLifts(t *testing.T) {
	const unit = 60 * time.Millisecond
	c := &fakeCluster{
		refuse: func(d system.Disruption) error {
			if d.Kind == "node-drain" && d.Target == "dyno" {
				return errors.New("cannot evict dyno-7f: it would violate the pod's disruption budget")
			}
			return nil
		},
		failLift: map[string]error{"zone-outage": errors.New("node zone-b-1 not found")},
		noLift:   map[string]bool{"pod-kill": true},
	}
	faults := []Plan{
		{Index: 1, Link: "dyno[2]", Toxic: "pod-kill", At: 0},
		{Index: 2, Link: "dyno", Toxic: "node-drain", At: 1 * unit, For: 2 * unit},
		{Index: 3, Link: ZonePrefix + "b", Zone: "b", Toxic: "zone-outage", At: 2 * unit, For: 2 * unit},
		{Index: 4, Link: "dyno", Replicas: 0, Toxic: "scale", At: 3 * unit},                              // until the end
		{Index: 5, Link: ZonePrefix + "c", Zone: "c", Toxic: "node-drain", At: 4 * unit, For: 10 * unit}, // ends after the load
	}
	s := NewScheduler(&system.System{Disrupt: c.disrupt}, faults)
	c.began = time.Now()
	s.Prime(context.Background())
	began := time.Now()
	c.mu.Lock()
	c.began = began
	c.mu.Unlock()
	total := 6 * unit
	s.Run(context.Background(), began, total)
	time.Sleep(time.Until(began.Add(total)))
	s.Heal(context.Background())
	s.Heal(context.Background()) // nothing left: no second lift

	type want struct {
		what string
		d    system.Disruption
		at   time.Duration // -1: at once (primed or healed)
	}
	wants := []want{
		{"disrupt", system.Disruption{Kind: "pod-kill", Target: "dyno[2]"}, -1},
		{"disrupt", system.Disruption{Kind: "node-drain", Target: "dyno"}, 1 * unit},
		{"disrupt", system.Disruption{Kind: "zone-outage", Zone: "b"}, 2 * unit},
		{"lift", system.Disruption{Kind: "node-drain", Target: "dyno"}, 3 * unit},
		{"disrupt", system.Disruption{Kind: "scale", Target: "dyno", Replicas: 0}, 3 * unit},
		{"lift", system.Disruption{Kind: "zone-outage", Zone: "b"}, 4 * unit},
		{"disrupt", system.Disruption{Kind: "node-drain", Zone: "c"}, 4 * unit},
		{"lift", system.Disruption{Kind: "scale", Target: "dyno", Replicas: 0}, -1}, // Heal, in the faults' order
		{"lift", system.Disruption{Kind: "node-drain", Zone: "c"}, -1},
	}
	c.mu.Lock()
	calls := append([]call(nil), c.calls...)
	c.mu.Unlock()
	if len(calls) != len(wants) {
		t.Fatalf("%d calls, want %d: %+v", len(calls), len(wants), calls)
	}
	for i, w := range wants {
		got := calls[i]
		if got.what != w.what || got.d != w.d {
			t.Errorf("call %d: %s %+v, want %s %+v", i, got.what, got.d, w.what, w.d)
		}
		// Never early; late by at most what a busy machine's timers are.
		if w.at >= 0 && (got.at < w.at-time.Millisecond || got.at > w.at+unit) {
			t.Errorf("call %d (%s %s) at %v, want %v", i, got.what, got.d.Kind, got.at, w.at)
		}
	}

	ws := s.Windows()
	errs := map[int]string{}
	for _, w := range ws {
		errs[w.Fault.Index] = w.Err
	}
	if e := errs[2]; !strings.Contains(e, "fault 2 (node-drain on dyno): cannot evict dyno-7f: it would violate the pod's disruption budget") {
		t.Errorf("the refused drain's window says %q", e)
	}
	if e := errs[3]; !strings.Contains(e, "lifting fault 3 (zone-outage on zone b): node zone-b-1 not found") {
		t.Errorf("the failed lift's window says %q", e)
	}
	for _, i := range []int{1, 4, 5} {
		if errs[i] != "" {
			t.Errorf("fault %d: error %q", i, errs[i])
		}
	}
	if w := ws[2]; w.Start < 2*unit || w.End < 4*unit {
		t.Errorf("zone-outage's window %v..%v, want from %v to %v", w.Start, w.End, 2*unit, 4*unit)
	}
}

// TestKubernetesFaultWithoutACluster checks a Kubernetes fault on a
// system with no Disrupt (a runtime that let it through) is an error in
// its window, not a crash.
func TestKubernetesFaultWithoutACluster(t *testing.T) {
	s := NewScheduler(&system.System{}, []Plan{{Index: 1, Link: ZonePrefix + "a", Zone: "a", Toxic: "zone-outage"}})
	s.Prime(context.Background())
	s.Heal(context.Background())
	if e := s.Windows()[0].Err; e != "fault 1: zone-outage is a Kubernetes fault: it needs the kubernetes runtime" {
		t.Errorf("window error %q", e)
	}
}

// TestDisruption checks how a plan fills the Disruption the runtime is
// asked to apply, and which kinds are Kubernetes faults.
func TestDisruption(t *testing.T) {
	for _, tt := range []struct {
		p    Plan
		want system.Disruption
	}{
		{Plan{Link: "dyno[3]", Toxic: "pod-kill"}, system.Disruption{Kind: "pod-kill", Target: "dyno[3]"}},
		{Plan{Link: "gateway", Toxic: "node-drain"}, system.Disruption{Kind: "node-drain", Target: "gateway"}},
		{Plan{Link: "zone:b", Zone: "b", Toxic: "node-drain"}, system.Disruption{Kind: "node-drain", Zone: "b"}},
		{Plan{Link: "zone:a", Zone: "a", Toxic: "zone-outage"}, system.Disruption{Kind: "zone-outage", Zone: "a"}},
		{Plan{Link: "dyno", Replicas: 2, Toxic: "scale"}, system.Disruption{Kind: "scale", Target: "dyno", Replicas: 2}},
	} {
		if got := tt.p.Disruption(); got != tt.want {
			t.Errorf("%+v: %+v, want %+v", tt.p, got, tt.want)
		}
		if !IsKubernetes(tt.p.Toxic) || IsContainer(tt.p.Toxic) {
			t.Errorf("%s: IsKubernetes %v, IsContainer %v", tt.p.Toxic, IsKubernetes(tt.p.Toxic), IsContainer(tt.p.Toxic))
		}
	}
	for _, k := range []string{"kill", "down", "latency", ""} {
		if IsKubernetes(k) {
			t.Errorf("IsKubernetes(%q)", k)
		}
	}
}
