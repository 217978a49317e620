// Package scenarios is paydrill's scenario format: the Go types of a
// scenario, their defaults, strict YAML parsing with positions, validation,
// --set overrides, the expectation language, the built-in scenarios and the
// JSON Schema of scenario files. It knows nothing of the harness, the
// reports or the simulated components (it uses only sim/dist for
// distributions).
//
// # Files
//
// A scenario file is one YAML mapping. Every key is optional: Default
// describes a small healthy system, so four lines make a valid scenario:
//
//	name: smoke
//	duration: 2m
//	load: {rate: 5/s}
//	expect: [lost_orders == 0]
//
// Values are written as:
//
//   - durations: Go-style model time, "150ms", "15s", "2m", "1h30m" (0 alone
//     is zero), held as time.Duration;
//   - rates: "N/s" or "N/m", held as float64 per second;
//   - money: a decimal string of dollars, "35.00" (at most two decimals, not
//     negative; a leading $ is allowed), held as int64 cents;
//   - distributions: {dist: const, value: X}, {dist: uniform, min: X, max: Y},
//     {dist: exponential, mean: X}, {dist: lognormal, median: X, p99: Y},
//     {dist: weibull, shape: K, scale: X}, {dist: empirical, file: PATH}
//     (one sample a line, relative to the scenario file), or a bare value
//     for const; X and Y are durations in time distributions and money in
//     amount distributions.
//
// # Errors
//
// Parsing is strict: unknown keys, wrong types and malformed values are
// errors, and every error names the file, line, column and key path:
//
//	scenarios/x.yaml:7:5: system.dynos.wokers: unknown key (did you mean "workers"?)
//
// Parse reports every problem of form at once; Validate every problem of
// sense; Check does both, as `paydrill validate` shows them.
//
// # Overrides
//
// Set changes one value by key path ("system.dynos.count", or
// "dynos.count" for short), reading the value with the same decoders as the
// file; Validate afterwards reports bad values with the file "--set".
//
// # Expectations
//
// expect holds expressions KEY OP VALUE over the numeric keys of the JSON
// result; see Expectation. A window before a colon judges only the orders
// sent within it ("during fault 1: success_rate > 99%"); see Window.
// abort_if holds stop conditions in the same language, checked on the
// orders so far while the load runs.
package scenarios
