package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"paydrill/harness"
	"paydrill/harness/exit"
	"paydrill/harness/result"
	"paydrill/harness/system"
	"paydrill/reports"
	"paydrill/scenarios"
)

func newSuite(env Env) *cobra.Command {
	var f runFlags
	var junit string
	var parallel int
	cmd := &cobra.Command{
		Use:   "suite DIR|FILES...",
		Short: "Run every scenario of a folder (or the files given) as a CI suite",
		Long: `Run every scenario of a folder (its *.yaml and *.yml files), or the files
and built-in names given, one after another (or --parallel N at once), judge
each one's expectations, and print one table: a row per scenario with its
verdict, key figures and wall time, then every failed expectation with its
value.

Every file is checked before the first runs: any problem in any file is
reported (file, line, column, key) and nothing runs. Each scenario leaves its
report.json, report.html, results, exports and stores in its own directory
under --out, with suite.json (what --json prints) beside them.

Exit codes: 0 every expectation of every scenario held, 1 one did not (or a
stop condition, abort_if, ended a run early), 2 bad input, 3 the harness
could not run a scenario, or could not keep up with the model in one
(harness.saturated; see --allow-saturated).`,
		Example: `  paydrill suite ci/scenarios --junit junit.xml
  paydrill suite ci/scenarios --parallel 2 --speed 20 --out /tmp/suite
  paydrill suite baseline production-outage my-scenario.yaml --json`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if parallel < 1 {
				return exit.BadInput(fmt.Errorf("%s: --parallel must be 1 or more, got %d", cmd.CommandPath(), parallel))
			}
			rt, err := f.runtimeFor(env)
			if err != nil {
				return err
			}
			runs, err := suiteScenarios(cmd, &f, env.Stderr, args, rt)
			if err != nil {
				return err
			}
			id, dir := f.runDir("suite")
			res := runSuite(cmd.Context(), env, &f, rt, runs, dir, id, parallel)
			if err := reports.WriteSuite(dir, res); err != nil {
				return exit.CannotRun(fmt.Errorf("writing suite.json: %w", err))
			}
			if junit != "" {
				if err := writeJUnit(junit, res); err != nil {
					return exit.CannotRun(err)
				}
			}
			if f.json {
				err = reports.JSON(env.Stdout, res)
			} else {
				err = reports.SuiteTable(env.Stdout, res)
				fmt.Fprintf(env.Stdout, "results in %s\n", dir)
			}
			if err != nil {
				return err
			}
			return suiteExit(res)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&junit, "junit", "", "write JUnit XML to FILE: one testcase per scenario, each failed expectation with its value in the failure message")
	cmd.Flags().IntVar(&parallel, "parallel", 1, "run N scenarios at once (each has its own system on its own ports)")
	cmd.Flags().Lookup("json").Usage = `print {"scenarios": [<result>...], "verdict": ...} on stdout instead of the table`
	cmd.Flags().Lookup("out").Usage = "directory for suite.json and one directory per scenario (default: a new directory under the system temp dir)"
	return cmd
}

// suiteRun is one scenario to run: where it came from and what it is.
type suiteRun struct {
	arg string
	s   *scenarios.Scenario
}

// suiteScenarios reads and checks every scenario the arguments name
// (folders expand to their YAML files), with the command line's overrides.
// Every problem of every file is written to stderr, and then it returns a
// bad-input error: nothing may run.
func suiteScenarios(cmd *cobra.Command, f *runFlags, stderr io.Writer, args []string, rt system.Runtime) ([]suiteRun, error) {
	var paths []string
	var errs []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil || !fi.IsDir() {
			paths = append(paths, a)
			continue
		}
		var found []string
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(a, pat))
			found = append(found, m...)
		}
		if len(found) == 0 {
			errs = append(errs, fmt.Sprintf("%s: no scenario files (*.yaml, *.yml) in this folder", a))
		}
		sort.Strings(found)
		paths = append(paths, found...)
	}
	var runs []suiteRun
	bad := 0
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			if _, fileErrs := scenarios.CheckFile(p); len(fileErrs) > 0 {
				bad++
				for _, e := range fileErrs {
					errs = append(errs, e.Error())
				}
				continue
			}
		}
		s, err := f.scenario(cmd, p)
		if err != nil {
			bad++
			errs = append(errs, err.Error())
			continue
		}
		// What the runtime cannot run (a container fault on embedded, a
		// Kubernetes fault or redundancy settings on any runtime but
		// kubernetes), named by key, before anything runs.
		if err := harness.CheckRuntime(s, rt); err != nil {
			bad++
			errs = append(errs, err.Error())
			continue
		}
		runs = append(runs, suiteRun{arg: p, s: s})
	}
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		return nil, exit.BadInput(fmt.Errorf("%d of %d scenarios have problems; nothing ran", max(bad, 1), len(paths)))
	}
	return runs, nil
}

// runSuite runs every scenario, parallel at a time, each in its own
// directory under dir, and gathers their results in the order given.
func runSuite(ctx context.Context, env Env, f *runFlags, rt system.Runtime, runs []suiteRun, dir, id string, parallel int) *reports.Suite {
	res := &reports.Suite{Scenarios: make([]reports.SuiteRun, len(runs))}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		if f.quiet {
			return
		}
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(env.Stderr, format, args...)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	cal := &harness.Calibrator{} // one measure of the machine for every run
	for range min(parallel, len(runs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res.Scenarios[i] = runOne(ctx, env, f, rt, cal, runs[i], i, len(runs), dir, id, parallel, logf)
			}
		}()
	}
	for i := range runs {
		if ctx.Err() != nil {
			s := runs[i].s
			res.Scenarios[i] = reports.SuiteRun{File: runs[i].arg, Error: "not run: interrupted",
				Result: &result.Result{Scenario: s.Name, Seed: s.Seed, Speed: s.Speed, Verdict: "fail", Harness: result.HarnessHealth{Notes: []string{}}}}
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	res.Judge()
	return res
}

// runOne runs scenario i of n and writes its report.
func runOne(ctx context.Context, env Env, f *runFlags, rt system.Runtime, cal *harness.Calibrator, run suiteRun, i, n int, dir, id string, parallel int,
	logf func(string, ...any)) reports.SuiteRun {
	s := run.s
	out := reports.SuiteRun{File: run.arg}
	runDir := filepath.Join(dir, fmt.Sprintf("%02d-%s", i+1, fileSafe(s.Name)))
	logf("suite [%d/%d] %s: running\n", i+1, n, s.Name)
	opt := f.options(rt, runDir, cal)
	if parallel == 1 && !f.quiet && env.StderrIsTerminal {
		opt.Progress = env.Stderr
	}
	r, err := harness.RunScenario(ctx, s, fmt.Sprintf("%s-%d", id, i+1), opt)
	if err != nil {
		logf("suite [%d/%d] %s: could not run: %v\n", i+1, n, s.Name, err)
		out.Error = err.Error()
		out.Result = &result.Result{Scenario: s.Name, Runtime: rt.Name(), Seed: s.Seed, Speed: s.Speed, Verdict: "fail",
			OutDir: runDir, Harness: result.HarnessHealth{Notes: []string{}}}
		return out
	}
	out.Result = r
	if err := reports.WriteRun(runDir, r); err != nil {
		out.Error = fmt.Sprintf("writing the report: %v", err)
	}
	if r.Harness.Saturated && out.Error == "" {
		if err := f.saturated("the run", []float64{r.Speed}, r.Harness.Notes); err != nil {
			out.Error = err.Error()
		}
	}
	logf("suite [%d/%d] %s: %s in %.1fs\n", i+1, n, s.Name, strings.ToUpper(r.Verdict), r.Harness.WallS)
	return out
}

// fileSafe keeps letters, digits, '.', '-' and '_' of a name for a
// directory name.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(".-_", r):
			return r
		}
		return '_'
	}, name)
}

// writeJUnit writes the suite's JUnit XML to path.
func writeJUnit(path string, s *reports.Suite) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--junit: %w", err)
		}
	}
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := reports.JUnit(fh, s); err != nil {
		fh.Close()
		return fmt.Errorf("--junit %s: %w", path, err)
	}
	return fh.Close()
}

// suiteExit is the error a suite ends with: the harness could not run (or
// keep up with) a scenario, exit 3; an expectation failed or a run was
// aborted, exit 1; nil when every scenario passed.
func suiteExit(s *reports.Suite) error {
	var broken []string
	failed := false
	for _, r := range s.Scenarios {
		switch {
		case r.Error != "":
			broken = append(broken, r.Scenario+": "+r.Error)
		case !r.Passed():
			failed = true
		}
	}
	if len(broken) > 0 {
		return exit.CannotRun(fmt.Errorf("%d of %d scenarios could not run or be trusted:\n  %s",
			len(broken), len(s.Scenarios), strings.Join(broken, "\n  ")))
	}
	if failed {
		return &expectationsFailed{}
	}
	return nil
}
