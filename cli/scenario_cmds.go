package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"paydrill/harness"
	"paydrill/harness/exit"
	"paydrill/reports"
	"paydrill/scenarios"
)

// addScenarioCommands adds the commands that read scenarios.
func addScenarioCommands(root *cobra.Command, env Env) {
	root.AddCommand(newRun(env), newValidate(env), newList(env), newSchema(env))
	root.AddCommand(newSweep(env), newBench(env))
	root.AddCommand(newSuite(env), newReport(env), newCheck(env))
}

func newValidate(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILES...",
		Short: "Parse and check scenario files; nothing runs",
		Long: `Parse and check scenario files without running anything. Every problem of
every file is reported, each with its file, line, column and key. A system
larger than this machine can hold on the embedded runtime (its open files
with every worker busy, within ulimit -n) is a problem too, and the
message says how many dynos of that kind fit.
Exit 2 when any file has a problem.`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			bad := 0
			for _, path := range args {
				s, errs := scenarios.CheckFile(path)
				if len(errs) == 0 {
					if err := harness.CheckCapacity(s); err != nil {
						bad++
						fmt.Fprintln(env.Stderr, err)
						continue
					}
					fmt.Fprintf(env.Stdout, "%s: ok\n", path)
					continue
				}
				bad++
				for _, e := range errs {
					fmt.Fprintln(env.Stderr, e)
				}
			}
			if bad > 0 {
				return exit.BadInput(fmt.Errorf("%d of %d files have problems", bad, len(args)))
			}
			return nil
		},
	}
}

func newList(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios with one-line descriptions",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			t := reports.NewTable(env.Stdout, "scenario", "what it shows")
			for _, s := range scenarios.List() {
				t.Append([]string{s.Name, s.Description})
			}
			return t.Render()
		},
	}
}

func newSchema(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (for editor autocompletion)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := scenarios.JSONSchema()
			if err != nil {
				return err
			}
			_, err = env.Stdout.Write(b)
			return err
		},
	}
}
