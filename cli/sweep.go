package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"paydrill/harness"
	"paydrill/harness/exit"
	"paydrill/harness/result"
	"paydrill/reports"
	"paydrill/scenarios"
)

func newSweep(env Env) *cobra.Command {
	var f runFlags
	var csvOut bool
	var find string
	cmd := &cobra.Command{
		Use:   "sweep SCENARIO --set KEY=V1,V2,... [--set KEY=V1,V2,...]...",
		Short: "Run a scenario over a grid of settings and print one table",
		Long: `Run one scenario once for every combination of the values given with --set
(the full grid, the first --set varying slowest), one run after another, and
print one table: a row per combination with its settings, failover rate,
queue time (mean and p99), latency p99 and anomalies, all in model time.

A value may be a range of plain numbers: FROM..TO*FACTOR (8..512*2 is
8,16,32,...,512), FROM..TO+STEP (10..50+10) or FROM..TO (1..4, step 1);
ranges and single values mix in one list (2,4,8..64*2). --find COND then
names, for each combination of the other axes, the first value of the first
--set axis whose run meets COND, an expectation such as
'failover_rate < 0.1%'. With --runtime model a row takes a fraction of a
second, so a wide grid runs in seconds.

Every combination is checked before the first runs. Each run leaves its
report.json, results, exports and stores in its own directory under --out,
with sweep.json (what --json prints) beside them.

Exit codes: 0 every run's expectations held, 1 one did not, 2 bad input,
3 the harness could not run, or could not keep up with the model in some
run (harness.saturated; see --allow-saturated).`,
		Example: `  paydrill sweep random-vs-least-conn --set dynos.count=4,6,8,12,16,24 --set router.strategy=random,least-conn
  paydrill sweep baseline --set dynos.workers=1,2,4 --set load.rate=5/s,10/s --csv > grid.csv
  paydrill sweep random-vs-least-conn --runtime model --set 'expect=[]' --set dynos.count=8..1024*2 --set router.strategy=random,least-conn --find 'queue_ms.mean < 100ms'
  paydrill sweep my-scenario.yaml --set "dynos.service_time={dist: exponential, mean: 80ms},{dist: const, value: 80ms}" --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.json && csvOut {
				return exit.BadInput(fmt.Errorf("%s: --json and --csv: choose one", cmd.CommandPath()))
			}
			var cond *scenarios.Expectation
			if find != "" {
				e, err := scenarios.ParseExpectation(find)
				if err != nil {
					return exit.BadInput(fmt.Errorf("--find %q: %w", find, err))
				}
				if e.Window.Kind != scenarios.WholeRun {
					return exit.BadInput(fmt.Errorf("--find %q: a condition on the whole run, without a window", find))
				}
				cond = &e
			}
			var axes []harness.Axis
			for _, kv := range f.sets {
				a, err := harness.ParseAxis(kv)
				if err != nil {
					return exit.BadInput(err)
				}
				axes = append(axes, a)
			}
			if len(axes) == 0 {
				return exit.BadInput(fmt.Errorf("%s: nothing to sweep: give at least one --set KEY=V1,V2,...", cmd.CommandPath()))
			}
			plain := f
			plain.sets = nil
			base, err := plain.scenario(cmd, args[0])
			if err != nil {
				return err
			}
			rt, err := f.runtimeFor(env)
			if err != nil {
				return err
			}
			id, dir := f.runDir("sweep-" + base.Name)
			opt := harness.SweepOptions{Runtime: rt, Dir: dir, RunID: id, KeepSpeed: f.keepSpeed(), ProxyAll: f.proxyAll, Allow: f.allow(), Finished: func(row result.SweepRow) error {
				if err := reports.WriteRun(row.Result.OutDir, row.Result); err != nil {
					return exit.CannotRun(fmt.Errorf("writing the report of %s: %w", row.Settings, err))
				}
				return nil
			}}
			if !f.quiet && env.StderrIsTerminal {
				opt.Progress = env.Stderr
			}
			res, err := harness.Sweep(cmd.Context(), base, axes, opt)
			if err != nil {
				return err
			}
			if cond != nil {
				res.Find = harness.Find(res, axes, *cond)
			}
			if err := writeSweep(dir, res); err != nil {
				return exit.CannotRun(fmt.Errorf("writing sweep.json: %w", err))
			}
			switch {
			case f.json:
				err = reports.JSON(env.Stdout, res)
			case csvOut:
				err = reports.SweepCSV(env.Stdout, res)
			default:
				err = reports.SweepTable(env.Stdout, res)
				if err == nil {
					err = reports.Found(env.Stdout, res.Find)
				}
			}
			if err != nil {
				return err
			}
			if sat := res.Saturated(); len(sat) > 0 {
				var speeds []float64
				var notes []string
				for _, row := range sat {
					speeds = append(speeds, row.Result.Speed)
					notes = append(notes, row.Settings.String()+": "+strings.Join(row.Result.Harness.Notes, ", "))
				}
				if err := f.saturated(fmt.Sprintf("%d of %d runs", len(sat), len(res.Rows)), uniq(speeds), notes); err != nil {
					return err
				}
			}
			if res.Failed() {
				return &expectationsFailed{}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Lookup("set").Usage = "a setting to sweep, KEY=V1,V2,... (commas inside {}, [] or quotes do not split); " +
		"repeatable: every combination runs, e.g. --set dynos.count=2,4,8 --set router.strategy=random,least-conn"
	cmd.Flags().Lookup("json").Usage = `print {"rows": [{"settings": {...}, "result": <result>}...]} on stdout instead of the table`
	cmd.Flags().Lookup("out").Usage = "directory for sweep.json and one directory per run (default: a new directory under the system temp dir)"
	cmd.Flags().StringVar(&find, "find", "", "a condition on the result, KEY OP VALUE (e.g. 'failover_rate < 0.1%'): print, for each combination "+
		"of the other axes, the first value of the first --set axis (list it smallest first, or as a range) whose run meets it; "+
		"sweep.json and --json hold it as find")
	cmd.Flags().BoolVar(&csvOut, "csv", false, "print the table as CSV on stdout (plain numbers: rates as fractions, times in model ms)")
	return cmd
}

// writeSweep writes sweep.json into the sweep's directory.
func writeSweep(dir string, res *result.SweepResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "sweep.json"))
	if err != nil {
		return err
	}
	if err := reports.JSON(f, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func uniq(xs []float64) []float64 {
	var out []float64
	seen := map[float64]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
