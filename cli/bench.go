package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"paydrill/harness"
	"paydrill/harness/exit"
	"paydrill/reports"
)

func newBench(env Env) *cobra.Command {
	var (
		opt        harness.BenchOptions
		jsonOut    bool
		quiet      bool
		cpuProfile string
		out        string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure this machine's loopback ceiling and the simulated pipeline's throughput",
		Long: `Measure, in one run, how many requests a second this machine can serve over
loopback (vegeta at full rate against a bare net/http handler on 127.0.0.1),
then how many orders a second the fault-free simulated pipeline takes at
full rate (edge → router → dynos → gateway and db, embedded runtime, no
modelled service time or latency), once with its links wired directly (as
a run wires every link no fault names) and once with every link through
toxiproxy (--proxy-all), and print them, their ratios to the ceiling,
orders a second per core, latency percentiles, the harness's peak memory,
the dynos' time per order, and the speed speed: auto picks for the
reference scenario (random-vs-least-conn) on this machine.

The ratio bounds time compression: a scenario's orders per wall second
(rate × speed) must stay well below the pipeline's rate, and the
unmodelled time per order, multiplied by speed, well below its service
time. Each phase stops after --duration or --max-requests.`,
		Example: `  paydrill bench
  paydrill bench --duration 10s --connections 128 --json
  paydrill bench --cpuprofile pipeline.pprof && go tool pprof -top pipeline.pprof`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.Duration <= 0 || opt.Duration > time.Hour || opt.Connections < 1 || opt.MaxHits < 1 {
				return exit.BadInput(fmt.Errorf("%s: --duration must be in (0, 1h], --connections and --max-requests at least 1", cmd.CommandPath()))
			}
			dir := out
			if dir == "" {
				d, err := os.MkdirTemp("", "paydrill-bench-")
				if err != nil {
					return exit.CannotRun(err)
				}
				defer os.RemoveAll(d)
				dir = d
			}
			opt.Dir = filepath.Join(dir, "stores")
			if !quiet && env.StderrIsTerminal {
				opt.Progress = env.Stderr
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return exit.BadInput(fmt.Errorf("--cpuprofile: %w", err))
				}
				defer f.Close()
				opt.Profile = f
			}
			res, err := harness.Bench(cmd.Context(), opt)
			if err != nil {
				return err
			}
			if jsonOut {
				return reports.JSON(env.Stdout, res)
			}
			return benchSummary(env.Stdout, res)
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&opt.Duration, "duration", 5*time.Second, "how long each phase sends requests at most")
	fs.Uint64Var(&opt.MaxHits, "max-requests", 500_000, "how many requests each phase sends at most")
	fs.IntVar(&opt.Connections, "connections", 64, "requests in flight at once (vegeta workers, one connection each)")
	fs.IntVar(&opt.Dynos, "dynos", 4, "dynos in the pipeline")
	fs.IntVar(&opt.Workers, "workers", 16, "workers per dyno in the pipeline")
	fs.BoolVar(&jsonOut, "json", false, "print the figures as JSON on stdout")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the pipeline phase to this file")
	fs.StringVar(&out, "out", "", "keep the pipeline's stores in this directory (default: a temporary directory, removed)")
	return cmd
}

// benchSummary prints a benchmark as two tables.
func benchSummary(w io.Writer, r *harness.BenchResult) error {
	fmt.Fprintf(w, "paydrill bench · %d CPUs · %d connections\n\n", r.CPUs, r.Connections)
	t := reports.NewTable(w, "phase", "requests", "ok", "per second", "p50", "p95", "p99", "max")
	for _, p := range []struct {
		name string
		th   harness.Throughput
	}{{"loopback ceiling (bare net/http)", r.Ceiling}, {"pipeline (edge → router → dyno → gateway + db), links direct", r.Pipeline},
		{"pipeline, every link through toxiproxy", r.PipelineProxied}} {
		l := p.th.Latency
		t.Append([]string{p.name, fmt.Sprint(p.th.Requests), fmt.Sprint(p.th.OK), fmt.Sprintf("%.0f", p.th.Rate),
			msWall(l.P50), msWall(l.P95), msWall(l.P99), msWall(l.Max)})
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\npipeline / ceiling: %.1f%% with direct links, %.1f%% with every link proxied; %.0f orders/s per core\n",
		100*r.Ratio, 100*r.RatioProxied, r.OrdersPerCore)
	fmt.Fprintf(w, "peak memory: %.1f MiB Go heap, %.1f MiB resident\n", mib(r.PeakHeapBytes), mib(r.PeakRSSBytes))
	fmt.Fprintf(w, "dyno time per order at full rate (all unmodelled: db and gateway round trips, waiting on the stores): mean %.0f µs, p99 %.0f µs\n",
		r.OverheadUS.Mean, r.OverheadUS.P99)
	for _, p := range []struct {
		name string
		th   harness.Throughput
	}{{"ceiling", r.Ceiling}, {"pipeline", r.Pipeline}, {"pipeline proxied", r.PipelineProxied}} {
		if n := p.th.Requests - p.th.OK; n > 0 {
			fmt.Fprintf(w, "! %s: %d requests not answered as expected, e.g. %v\n", p.name, n, p.th.Errors)
		}
	}
	if r.Reference != nil {
		fmt.Fprintf(w, "trusted speed of the reference scenario (random-vs-least-conn) here: %g\n  %s\n", r.Reference.Speed, r.Reference.Why)
	}
	return nil
}

func msWall(v float64) string { return fmt.Sprintf("%.2fms", v) }

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
