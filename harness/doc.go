// Package harness runs an experiment: it turns a scenario into a Plan in
// wall-clock time (NewPlan, at the scenario's speed or the one speed: auto
// measures: Calibrator, AutoSpeed), has a runtime realise the plan's
// topology, and Run drives it: faults on schedule (harness/fault), the
// order load (harness/load), stop conditions (abort_if), the settle, and
// the evidence collected for the pure checker (harness/checker), whose
// result (harness/result) the reports render. Sweeps and suites run many
// scenarios; Bench measures what this machine can drive; CheckCapacity
// refuses a system this process cannot hold.
//
// The parts it orchestrates live in packages of their own, one idea each:
// harness/topology (the system as data), harness/system (what a runtime
// gives back), harness/embedded and harness/docker (the runtimes),
// harness/fault, harness/load, harness/checker, harness/result,
// harness/queueing (the formulas the pool is checked against) and
// harness/exit (exit codes on errors).
package harness
