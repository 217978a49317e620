package model

import (
	"errors"
	"fmt"
	"slices"

	"paydrill/harness/result"
	"paydrill/scenarios"
)

// Refuse says what of s the model does not simulate and that would change
// its figures, each naming the scenario's key (file, line, column): a
// standby region, the dynos' redundancy settings, a Kubernetes fault, a
// container fault, a toxic other than down, latency and
// timeout, a fault on a link it does not model, an expectation or stop
// condition on a figure it does not compute, a windowed expectation (it
// keeps no per-order evidence to judge a window on). nil: it runs.
func Refuse(s *scenarios.Scenario) error {
	var errs []error
	refuse := func(key, format string, args ...any) {
		errs = append(errs, s.ErrorAt(key, "the model runtime %s", fmt.Sprintf(format, args...)))
	}
	if s.HasStandby() {
		refuse("system.regions.standby.mode", "does not simulate a standby region or a drill (run it on embedded or docker)")
	}
	for _, key := range s.RedundancyKeys() {
		refuse(key, "does not place the dynos on nodes and zones, so it cannot honour the redundancy settings "+
			"(zones, spread, limits, probes, disruption_budget); it needs --runtime kubernetes")
	}
	for i, f := range s.Faults {
		key := fmt.Sprintf("faults[%d]", i)
		switch {
		case f.IsKubernetes():
			refuse(key+".toxic", "has no cluster: %s is a Kubernetes fault; it needs --runtime kubernetes", f.Toxic)
		case f.IsContainer():
			refuse(key+".toxic", "has no containers: %s is a container fault (run it on docker)", f.Toxic)
		case f.Region != "":
			refuse(key+".region", "does not simulate regions")
		case !Runtime{}.Supports(f.Toxic):
			refuse(key+".toxic", "applies only down, latency and timeout exactly, not %s", f.Toxic)
		case f.Link == linkDynoDB:
			refuse(key+".link", "does not simulate the order store, so not a fault on dyno->db")
		}
	}
	for i, e := range s.Expect {
		key := fmt.Sprintf("expect[%d]", i)
		switch {
		case e.Window.Kind != scenarios.WholeRun:
			refuse(key, "keeps no per-order evidence to judge a window on (%s)", e.Expr)
		case Omits(e.Key):
			refuse(key, "does not compute %s: it keeps no stores, where the money lives (drop the expectation with --set 'expect=[...]', or run on embedded)", e.Key)
		}
	}
	for i, e := range s.AbortIf {
		refuse(fmt.Sprintf("abort_if[%d]", i), "has no stop conditions: it runs the whole scenario in a fraction of a second (%s)", e.Expr)
	}
	return errors.Join(errs...)
}

// Omits says whether key is (or is under) a figure the model leaves null.
func Omits(key string) bool {
	return slices.Contains(result.ModelOmits, key) || slices.ContainsFunc(result.ModelOmits, func(k string) bool {
		return len(key) > len(k) && key[:len(k)+1] == k+"."
	})
}
