// Package cli is paydrill's command line (cobra): it parses, calls the
// harness and the reports, and maps errors to exit codes in one place.
// main.go only hands it the process's environment.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"paydrill/harness/exit"

	"github.com/spf13/cobra"
)

// Env is the process's outside world, handed down so a whole command can be
// run and tested in memory.
type Env struct {
	Stdout, Stderr io.Writer
	// StderrIsTerminal turns progress lines on.
	StderrIsTerminal bool
}

// OSEnv is the real process's environment.
func OSEnv() Env {
	fi, err := os.Stderr.Stat()
	return Env{
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		StderrIsTerminal: err == nil && fi.Mode()&os.ModeCharDevice != 0,
	}
}

// Main runs paydrill with args (without the program name) and returns the
// exit code: 0 ran and every expectation held, 1 an expectation failed,
// 2 bad input, 3 the harness could not run.
func Main(ctx context.Context, env Env, args []string) int {
	root := newRoot(env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var failed *expectationsFailed
	if errors.As(err, &failed) {
		return exit.CodeExpectationFailed
	}
	fmt.Fprintf(env.Stderr, "paydrill: %v\n", err)
	return exit.Code(err)
}

// expectationsFailed ends a command that ran fine but whose expectations
// did not all hold; its report has already said which.
type expectationsFailed struct{}

func (expectationsFailed) Error() string { return "an expectation failed" }

func newRoot(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "paydrill",
		Short: "Chaos and load testing for payment platforms",
		Long: `paydrill boots a complete simulated payment system (edge router with
failover to a capture service, a randomly routed dyno pool, a payment
gateway, an order store, a replayer, a reconciler), breaks it on a schedule
with toxiproxy, drives order traffic with vegeta, and proves order by order
what happened to the money: failovers, double charges, lost orders, RTO, RPO.

Exit codes: 0 every expectation held, 1 an expectation failed,
2 bad input, 3 the harness could not run.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exit.BadInput(fmt.Errorf("%s: %w (see %s --help)", c.CommandPath(), err, c.CommandPath()))
	})
	root.AddCommand(newServe(env))
	root.AddCommand(newClean(env))
	root.AddCommand(newCluster(env), newPause())
	addScenarioCommands(root, env)
	return root
}

// usageArgs wraps a cobra.PositionalArgs so its errors are bad input.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return exit.BadInput(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
		}
		return nil
	}
}
