package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"paydrill/harness/checker"
	"paydrill/harness/exit"
	"paydrill/harness/result"
	"paydrill/reports"
	"paydrill/scenarios"
)

func newCheck(env Env) *cobra.Command {
	var asJSON, allowSaturated, allowUnsettled bool
	var junit string
	var expects []string
	cmd := &cobra.Command{
		Use:   "check DIR",
		Short: "checker.Check a finished run again from its saved evidence, with today's checker; nothing runs",
		Long: `Run the checker again on what a finished run saved in its directory, and
judge the scenario's expectations again: nothing boots, nothing is sent. The
way Jepsen re-analyses a stored history, this re-checks an old run with
today's checker (a new anomaly, a fixed count, a new expectation).

DIR is a run's directory (--out of paydrill run, or one run's directory of a
suite or a sweep). checker.Check reads:
  evidence.json    the run's facts: scenario, runtime, seed, speed, the
                   load's start and wall time, the fault windows as applied,
                   the expectations, and the harness's health as measured
  orders.ndjson    every order sent
  outcomes.ndjson  what the client was told of each order
  exports/         each component's export: gateway (the ledger), db,
                   capture, edge, replayer, reconciler, dyno-N
Nothing in DIR is written. The figures are those paydrill run printed
when the checker is the same; the harness's own figures (harness.*: rates,
timer lateness, saturation, wall time) were measured while it ran and are
shown as saved. When DIR also holds report.json, every figure that now
differs from it is listed on stderr.

Output and exit codes are run's: the summary table, or the JSON result
(--json, as report.json); 0 every expectation held, 1 an expectation
failed, 2 bad input (DIR missing, not a run's directory, a file missing
or malformed: the message names it), 3 the run was saturated (its figures
are not to be trusted; see --allow-saturated) or a report could not be
written.`,
		Example: `  paydrill run production-outage --out /tmp/po-run
  paydrill check /tmp/po-run
  paydrill check /tmp/po-run --json
  paydrill check fixtures/runs/double-charge --junit junit.xml
  paydrill check /tmp/po-run --expect 'lost_orders == 0' --expect 'during fault 1: failover_rate > 90%'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			run, err := checker.LoadRun(dir)
			if err != nil {
				return err
			}
			exps := run.Expect
			if cmd.Flags().Changed("expect") {
				exps = nil
				for _, x := range expects {
					e, err := scenarios.ParseExpectation(x)
					if err != nil {
						return exit.BadInput(fmt.Errorf("--expect %q: %w", x, err))
					}
					exps = append(exps, e)
				}
			}
			allow := run.Allow
			allow.Saturated = allow.Saturated || allowSaturated
			allow.Unsettled = allow.Unsettled || allowUnsettled
			r := run.Check(exps, allow)
			if junit != "" {
				s := &reports.Suite{Scenarios: []reports.SuiteRun{{Result: r}}}
				s.Judge()
				if err := writeJUnit(junit, s); err != nil {
					return exit.CannotRun(err)
				}
			}
			if asJSON {
				err = reports.JSON(env.Stdout, r)
			} else {
				err = reports.Summary(env.Stdout, r)
			}
			if err != nil {
				return err
			}
			if saved, err := reports.ReadRun(dir); err == nil {
				changed(env.Stderr, saved, r)
			} else if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(env.Stderr, "paydrill: %s/report.json cannot be read to compare (%v)\n", dir, err)
			}
			if r.Harness.Saturated && !allowSaturated {
				return exit.CannotRun(fmt.Errorf("the run could not keep up with the model at speed %s (%s): its figures are not to be trusted; "+
					"pass --allow-saturated to accept them", strconv.FormatFloat(r.Speed, 'g', -1, 64), strings.Join(r.Harness.Notes, "; ")))
			}
			if r.Verdict != "pass" {
				return &expectationsFailed{}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON on stdout (as report.json) instead of the summary table")
	fs.StringVar(&junit, "junit", "", "write JUnit XML to FILE (one testcase: the run, each failed expectation with its value)")
	fs.StringArrayVar(&expects, "expect", nil, "judge this expectation instead of the saved ones, e.g. 'double_charges == 0' or "+
		"'during fault 1: failover_rate > 90%' (repeatable; the saved ones are in evidence.json)")
	fs.BoolVar(&allowSaturated, "allow-saturated", false,
		"exit as usual even when the run was saturated (harness.saturated: its figures are not to be trusted) and judge its expectations; without it such a run fails and exits 3 after its report")
	fs.BoolVar(&allowUnsettled, "allow-unsettled", false,
		"judge the expectations of a run that did not settle instead of failing it (as the run did when it was allowed to)")
	return cmd
}

// changed lists on w every figure of the result (each number an
// expectation can name, and the verdict) that differs from the saved one.
func changed(w io.Writer, saved, now *result.Result) {
	var diffs []string
	show := func(v float64, ok bool) string {
		if !ok {
			return "null"
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	for _, k := range scenarios.ResultKeys() {
		a, aok := saved.Lookup(k)
		b, bok := now.Lookup(k)
		if aok != bok || a != b {
			diffs = append(diffs, fmt.Sprintf("%s %s (report.json: %s)", k, show(b, bok), show(a, aok)))
		}
	}
	if saved.Verdict != now.Verdict {
		diffs = append(diffs, fmt.Sprintf("verdict %s (report.json: %s)", now.Verdict, saved.Verdict))
	}
	if len(diffs) == 0 {
		return
	}
	fmt.Fprintf(w, "paydrill: checked again, %d figures differ from report.json:\n  %s\n", len(diffs), strings.Join(diffs, "\n  "))
}
