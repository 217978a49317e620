package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"paydrill/harness"
	"paydrill/harness/checker"
	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/kubernetes"
	"paydrill/harness/model"
	"paydrill/harness/system"
	"paydrill/reports"
	"paydrill/scenarios"
)

// runFlags are the settings `run` shares with `suite` and `sweep`.
type runFlags struct {
	runtime string
	speed   string
	seed    int64
	sets    []string
	out     string
	json    bool
	quiet   bool
	// proxyAll wires every link through toxiproxy, not only the ones a
	// fault names.
	proxyAll bool
	// allowSaturated keeps the exit code of a run the harness could not
	// keep up with (harness.saturated) at 0/1 instead of 3, and judges
	// its expectations.
	allowSaturated bool
	// allowUnsettled judges the expectations of a run that did not
	// settle instead of failing it.
	allowUnsettled bool
	// kubeconfig and kubeContext pick the cluster of --runtime kubernetes.
	kubeconfig, kubeContext string
}

func (f *runFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.runtime, "runtime", "embedded", "where the system runs: embedded (in this process, needs nothing but Go), docker, "+
		"model (a discrete-event simulation in virtual time, for capacity tuning: a run takes a fraction of a second; "+
		"no money figures, and scenarios it cannot simulate exactly are refused), "+
		"or kubernetes (a namespace of a cluster: paydrill's local one, `paydrill cluster up`, or --kubeconfig's)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "with --runtime kubernetes: the kubeconfig of the cluster (default: $KUBECONFIG, else the local cluster's when it is up, else ~/.kube/config)")
	fs.StringVar(&f.kubeContext, "context", "", "with --runtime kubernetes: the kubeconfig context to use (default: its current one)")
	fs.StringVar(&f.speed, "speed", "", "run the model N times faster than the wall clock, or auto: the highest speed this machine holds with a "+
		"factor 2 of margin, measured at start (overrides the scenario's speed; without it the docker runtime runs at most at speed 5)")
	fs.BoolVar(&f.proxyAll, "proxy-all", false,
		"put every link through toxiproxy, not only the ones a fault names (costs the machine more per order; the report lists the proxied links)")
	fs.Int64Var(&f.seed, "seed", 0, "seed of every random choice (overrides the scenario's seed)")
	fs.StringArrayVar(&f.sets, "set", nil, "override a scenario setting, KEY=VALUE, e.g. dynos.count=8 or load.rate=20/s (repeatable)")
	fs.StringVar(&f.out, "out", "", "directory for report.json, the load results, the exports and the stores (default: a new directory under the system temp dir); a previous run's stores and exports there are replaced")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON on stdout instead of the summary table")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fs.BoolVar(&f.allowSaturated, "allow-saturated", false,
		"exit as usual even when the harness could not keep up with the model (harness.saturated: the speed is too high for "+
			"this machine and the figures are not to be trusted) and judge its expectations; without it such a run fails and exits 3 after its report")
	fs.BoolVar(&f.allowUnsettled, "allow-unsettled", false,
		"judge the expectations of a run that did not settle by settle.timeout (replays or reconciliation still pending), "+
			"as settle.required: false does; without it such a run fails")
}

// saturated is the error ending a command whose runs could not keep up,
// unless --allow-saturated: exit 3, after the report was written and
// printed.
func (f *runFlags) saturated(what string, speeds []float64, notes []string) error {
	if f.allowSaturated {
		return nil
	}
	return exit.CannotRun(fmt.Errorf("%s could not keep up with the model at speed %s (%s): its figures are not to be trusted; "+
		"lower --speed, or pass --allow-saturated to accept them", what, joinSpeeds(speeds), strings.Join(notes, "; ")))
}

func joinSpeeds(speeds []float64) string {
	parts := make([]string, len(speeds))
	for i, s := range speeds {
		parts[i] = strconv.FormatFloat(s, 'g', -1, 64)
	}
	return strings.Join(parts, ", ")
}

// scenario loads a scenario by file path or built-in name and applies the
// command-line overrides, then validates it.
func (f *runFlags) scenario(cmd *cobra.Command, arg string) (*scenarios.Scenario, error) {
	s, err := scenarios.Open(arg)
	if err != nil {
		return nil, exit.BadInput(err)
	}
	if cmd.Flags().Changed("speed") {
		if err := s.Set("speed", f.speed); err != nil {
			return nil, exit.BadInput(fmt.Errorf("--speed %q: %w", f.speed, err))
		}
	}
	if cmd.Flags().Changed("seed") {
		if err := s.Set("seed", strconv.FormatInt(f.seed, 10)); err != nil {
			return nil, exit.BadInput(err)
		}
	}
	for _, kv := range f.sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, exit.BadInput(fmt.Errorf("--set %q: want KEY=VALUE", kv))
		}
		if err := s.Set(k, v); err != nil {
			return nil, exit.BadInput(err)
		}
	}
	if errs := s.Validate(); len(errs) > 0 {
		return nil, exit.BadInput(errors.Join(errs...))
	}
	if f.runtime == model.Name {
		if err := model.Refuse(s); err != nil {
			return nil, exit.BadInput(err)
		}
	}
	if f.runtime == "embedded" {
		// The scenario is valid; this machine cannot hold it (validate
		// calls the same file bad input).
		if err := harness.CheckCapacity(s); err != nil {
			return nil, exit.CannotRun(err)
		}
	}
	return s, nil
}

// keepSpeed says whether the user chose the speed (--speed or --set
// speed=N), which a runtime's speed limit then leaves alone.
func (f *runFlags) keepSpeed() bool {
	if f.speed != "" {
		return true
	}
	for _, kv := range f.sets {
		if k, _, _ := strings.Cut(kv, "="); strings.TrimSpace(k) == "speed" {
			return true
		}
	}
	return false
}

// options are the harness options these flags ask for; cal is shared by
// the runs of one command (nil: each run measures the machine itself).
func (f *runFlags) options(rt system.Runtime, dir string, cal *harness.Calibrator) harness.Options {
	return harness.Options{Runtime: rt, Dir: dir, KeepSpeed: f.keepSpeed(), ProxyAll: f.proxyAll, Calibrator: cal, Allow: f.allow()}
}

// allow is what the user accepts of untrustworthy figures.
func (f *runFlags) allow() checker.Allow {
	return checker.Allow{Unsettled: f.allowUnsettled, Saturated: f.allowSaturated}
}

// runtimeFor returns the runtime the --runtime flag names.
func (f *runFlags) runtimeFor(env Env) (system.Runtime, error) {
	name, quiet := f.runtime, f.quiet
	switch name {
	case kubernetes.Name:
		return newKubernetesRuntime(env, f.kubeconfig, f.kubeContext, quiet), nil
	case "embedded":
		return embedded.Runtime{}, nil
	case "docker":
		return newDockerRuntime(env, quiet), nil
	case model.Name:
		return model.Runtime{}, nil
	}
	return nil, exit.BadInput(fmt.Errorf("--runtime: %q is not embedded, docker, model or kubernetes", name))
}

// runDir returns a new run id and the directory a run, suite or sweep
// writes to: --out, or a folder named prefix-id under the temporary
// directory.
func (f *runFlags) runDir(prefix string) (id, dir string) {
	id = newRunID()
	if f.out != "" {
		return id, f.out
	}
	return id, filepath.Join(os.TempDir(), "paydrill", prefix+"-"+id)
}

// newRunID is a short unique id naming a run's directory and containers.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func newRun(env Env) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run [SCENARIO]",
		Short: "Run one scenario (a file, or a built-in name; default: baseline)",
		Long: `Run one scenario: boot the simulated payment system, schedule its faults,
drive its order load, let replays and reconciliation settle, then check
every order against the gateway's ledger and the stores, and judge the
scenario's expectations.

SCENARIO is a YAML file or the name of a built-in scenario (paydrill list).
Exit codes: 0 every expectation held, 1 an expectation failed, 2 bad input,
3 the harness could not run.`,
		Example: `  paydrill run
  paydrill run production-outage --speed 50
  paydrill run my-scenario.yaml --set dynos.count=8 --json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "baseline"
			if len(args) == 1 {
				name = args[0]
			}
			s, err := f.scenario(cmd, name)
			if err != nil {
				return err
			}
			rt, err := f.runtimeFor(env)
			if err != nil {
				return err
			}
			id, dir := f.runDir(s.Name)
			opt := f.options(rt, dir, nil)
			if !f.quiet && env.StderrIsTerminal {
				opt.Progress = env.Stderr
			}
			r, err := harness.RunScenario(cmd.Context(), s, id, opt)
			if err != nil {
				return err
			}
			if err := reports.WriteRun(dir, r); err != nil {
				return exit.CannotRun(fmt.Errorf("writing the report: %w", err))
			}
			if f.json {
				err = reports.JSON(env.Stdout, r)
			} else {
				err = reports.Summary(env.Stdout, r)
			}
			if err != nil {
				return err
			}
			if r.Harness.Saturated {
				if err := f.saturated("the run", []float64{r.Speed}, r.Harness.Notes); err != nil {
					return err
				}
			}
			if r.Verdict != "pass" {
				return &expectationsFailed{}
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
