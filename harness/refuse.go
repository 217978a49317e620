package harness

import (
	"errors"
	"fmt"

	"paydrill/harness/exit"
	"paydrill/harness/system"
	"paydrill/scenarios"
)

// CheckRuntime says, before anything starts, what of s the runtime rt
// cannot run: the dynos' redundancy settings (system.FeatureRedundancy),
// a fault kind it does not apply (a container fault, a Kubernetes fault),
// a standby region. Every problem names the scenario's key (file, line
// and column) and the runtime that can run it; the error is bad input
// (exit 2). nil: rt can run s.
func CheckRuntime(s *scenarios.Scenario, rt system.Runtime) error {
	var errs []error
	if !rt.Supports(system.FeatureRedundancy) {
		for _, key := range s.RedundancyKeys() {
			errs = append(errs, s.ErrorAt(key, "the %s runtime does not place the dynos on nodes, so it cannot honour the "+
				"redundancy settings (zones, spread, limits, probes, disruption_budget); it needs --runtime kubernetes", rt.Name()))
		}
	}
	for i, f := range s.Faults {
		if rt.Supports(f.Toxic) {
			continue
		}
		errs = append(errs, s.ErrorAt(fmt.Sprintf("faults[%d].toxic", i), "%s", unsupported(rt.Name(), f.Toxic)))
	}
	if s.HasStandby() && !rt.Supports(system.FeatureStandby) {
		errs = append(errs, s.ErrorAt("system.regions.standby.mode", "the %s runtime cannot run a standby region yet; use --runtime embedded", rt.Name()))
	}
	if len(errs) == 0 {
		return nil
	}
	return exit.BadInput(errors.Join(errs...))
}

// unsupported says a fault kind the runtime called name cannot apply, and
// which runtime can.
func unsupported(name, kind string) string {
	k, _ := scenarios.LookupFaultKind(kind)
	switch {
	case k.Kubernetes:
		return fmt.Sprintf("%s is a Kubernetes fault: the %s runtime cannot apply it; it needs --runtime kubernetes", kind, name)
	case k.Container:
		return fmt.Sprintf("%s is a container fault: the %s runtime cannot apply it; it needs --runtime docker", kind, name)
	}
	return fmt.Sprintf("the %s runtime cannot apply %s", name, kind)
}
