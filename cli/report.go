package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"paydrill/harness/exit"
	"paydrill/reports"
)

func newReport(env Env) *cobra.Command {
	var asJSON, html bool
	var junit string
	cmd := &cobra.Command{
		Use:   "report DIR",
		Short: "Re-render a finished run (or suite) from its directory; nothing runs",
		Long: `Re-render what a finished run left in its directory (report.json,
results.ndjson, exports): the summary table by default, or the JSON result
(--json), JUnit XML (--junit FILE), and report.html written again (--html).
Nothing runs. DIR may also be a suite's directory (suite.json): then the
suite's table, JSON and JUnit, and every run's report.html.

Exit codes: 0 the saved verdict is pass, 1 it is fail, 2 DIR is not a
run's or a suite's directory, 3 a report could not be written.`,
		Example: `  paydrill report /tmp/paydrill/production-outage-20261122-101500-ab12cd34
  paydrill report /tmp/suite --junit junit.xml --html`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			suite, single, err := readSaved(dir)
			if err != nil {
				return exit.BadInput(err)
			}
			if html {
				for _, run := range suite.Scenarios {
					if run.Result == nil {
						continue
					}
					runDir := single
					if runDir == "" {
						runDir = savedRunDir(dir, run.OutDir)
					}
					if err := reports.WriteHTML(runDir, run.Result); err != nil {
						return exit.CannotRun(fmt.Errorf("%s: %w", runDir, err))
					}
					fmt.Fprintf(env.Stderr, "wrote %s\n", filepath.Join(runDir, "report.html"))
				}
			}
			if junit != "" {
				if err := writeJUnit(junit, suite); err != nil {
					return exit.CannotRun(err)
				}
			}
			switch {
			case asJSON && single != "":
				err = reports.JSON(env.Stdout, suite.Scenarios[0].Result)
			case asJSON:
				err = reports.JSON(env.Stdout, suite)
			case single != "":
				err = reports.Summary(env.Stdout, suite.Scenarios[0].Result)
			default:
				err = reports.SuiteTable(env.Stdout, suite)
			}
			if err != nil {
				return err
			}
			for _, r := range suite.Scenarios {
				if !r.Passed() {
					return &expectationsFailed{}
				}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&asJSON, "json", false, "print the result (a suite: {\"scenarios\": [...], \"verdict\": ...}) as JSON instead of the table")
	fs.StringVar(&junit, "junit", "", "write JUnit XML to FILE (one testcase per scenario)")
	fs.BoolVar(&html, "html", false, "write report.html again in the run's directory (every run's, for a suite)")
	return cmd
}

// readSaved reads a run's directory (report.json; single is then dir) or a
// suite's (suite.json), as a suite either way.
func readSaved(dir string) (suite *reports.Suite, single string, err error) {
	r, err := reports.ReadRun(dir)
	if err == nil {
		s := &reports.Suite{Scenarios: []reports.SuiteRun{{Result: r}}}
		s.Judge()
		return s, dir, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: report.json: %w", dir, err)
	}
	s, serr := reports.ReadSuite(dir)
	if serr == nil {
		s.Judge()
		return s, "", nil
	}
	if !errors.Is(serr, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: %w", dir, serr)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, "", fmt.Errorf("%s: %w", dir, err)
	}
	return nil, "", fmt.Errorf("%s holds neither report.json (a run) nor suite.json (a suite)", dir)
}

// savedRunDir finds a suite's run directory: where it was written, or, when
// the suite's directory has moved since (a CI artifact), the directory of
// the same name inside it.
func savedRunDir(suiteDir, outDir string) string {
	if _, err := os.Stat(filepath.Join(outDir, "report.json")); err == nil {
		return outDir
	}
	return filepath.Join(suiteDir, filepath.Base(outDir))
}
