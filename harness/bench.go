package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"paydrill/harness/checker"
	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// benchDynos is the pipeline's dyno count unless told otherwise.
const benchDynos = 4

// BenchOptions bound a throughput benchmark: each of its two phases stops
// after Duration or MaxHits requests, whichever comes first.
type BenchOptions struct {
	Duration    time.Duration // per phase; default 5s
	MaxHits     uint64        // per phase; default 500,000
	Connections int           // requests in flight at once; default 64
	Dynos       int           // dynos in the pipeline; default 4
	Workers     int           // workers per dyno; default 16
	Dir         string        // the pipeline's stores
	// Profile, when not nil, gets a CPU profile (pprof) of the pipeline
	// phase.
	Profile io.Writer
	// Progress, when not nil, gets a line as each phase starts.
	Progress io.Writer
	// NoReference skips the reference scenario's speed.
	NoReference bool
}

func (o *BenchOptions) defaults() {
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.MaxHits == 0 {
		o.MaxHits = 500_000
	}
	if o.Connections <= 0 {
		o.Connections = 64
	}
	if o.Dynos <= 0 {
		o.Dynos = benchDynos
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
}

// Throughput is what one phase of a benchmark achieved, in wall time.
type Throughput struct {
	Requests int                `json:"requests"`
	OK       int                `json:"ok"`   // answered as expected: 200 bare, 201 from production
	Rate     float64            `json:"rate"` // OK requests per second
	WallS    float64            `json:"wall_s"`
	Latency  result.Percentiles `json:"latency_ms"` // wall milliseconds
	Errors   []string           `json:"errors"`     // the first few unexpected answers
}

// BenchResult is `paydrill bench`: this machine's loopback ceiling, the
// fault-free pipeline's throughput, and their ratio.
type BenchResult struct {
	CPUs        int        `json:"cpus"`
	Connections int        `json:"connections"`
	Ceiling     Throughput `json:"ceiling"`  // vegeta → a bare net/http handler
	Pipeline    Throughput `json:"pipeline"` // vegeta → edge → router → dyno → gateway + db, links wired directly
	// PipelineProxied is the same with every link through toxiproxy
	// (--proxy-all, or a scenario whose faults name every link).
	PipelineProxied Throughput `json:"pipeline_proxied"`
	Ratio           float64    `json:"ratio"`         // pipeline rate / ceiling rate
	RatioProxied    float64    `json:"ratio_proxied"` // pipeline_proxied rate / ceiling rate
	// OrdersPerCore is the direct pipeline's rate over the CPUs.
	OrdersPerCore float64 `json:"orders_per_s_per_core"`
	// Reference is what speed: auto picks on this machine for the
	// reference scenario (random-vs-least-conn: heavy-tailed service at
	// half utilisation, where queue time is the figure that matters), the
	// highest speed its figures can be trusted at here, with why; omitted
	// when BenchOptions.NoReference.
	Reference *result.SpeedChoice `json:"reference_speed,omitempty"`
	// PeakHeapBytes is the most Go heap in use at once (sampled every
	// 50 ms); PeakRSSBytes the process's resident high-water mark (Linux
	// VmHWM; 0 elsewhere). Both cover the whole benchmark.
	PeakHeapBytes uint64 `json:"peak_heap_bytes"`
	PeakRSSBytes  uint64 `json:"peak_rss_bytes"`
	// OverheadUS is, per order of the pipeline phase, the time a dyno
	// worker held it beyond its service time (0 here, so all of it: the db
	// and gateway round trips and the wait for their stores at full
	// rate), in wall µs, mean and p99.
	OverheadUS dynoTime `json:"overhead_us"`
}

// Bench measures, in one run, the loopback ceiling (vegeta at full rate
// against a bare net/http handler on 127.0.0.1:0), the fault-free
// pipeline at full rate (booted by the embedded runtime, no modelled
// service time or gateway latency) with its links wired directly and
// then with every link through toxiproxy: how much of the machine's HTTP
// capacity the simulation keeps; and the speed the reference scenario
// can be trusted at here.
func Bench(ctx context.Context, opt BenchOptions) (*BenchResult, error) {
	opt.defaults()
	res := &BenchResult{CPUs: runtime.GOMAXPROCS(0), Connections: opt.Connections}
	peak := &heapPeak{}
	stopPeak := peak.watch()
	defer stopPeak()

	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "ceiling: vegeta → bare net/http handler, %s or %d requests\n", opt.Duration, opt.MaxHits)
	}
	bare, err := service.Start("127.0.0.1:0", bareHandler())
	if err != nil {
		return nil, exit.CannotRun(fmt.Errorf("ceiling: %w", err))
	}
	body := []byte(`{"reference":"ord-0000001","customer":"cus_00001","amount_cents":3500,"card_token":"tok_00001"}`)
	res.Ceiling = fullRate(ctx, opt, func(i int, t *vegeta.Target) {
		t.Method, t.URL, t.Body = http.MethodPost, bare.URL()+wire.PathOrders, body
		t.Header = http.Header{"Content-Type": {"application/json"}, wire.HeaderRequestID: {strconv.Itoa(i)}}
	}, func(r *vegeta.Result) bool { return r.Code == http.StatusOK })
	_ = bare.Close()
	if ctx.Err() != nil {
		return nil, exit.CannotRun(ctx.Err())
	}

	for _, all := range []bool{false, true} {
		th, overhead, err := benchPipeline(ctx, opt, all)
		if err != nil {
			return nil, err
		}
		if all {
			res.PipelineProxied = th
		} else {
			res.Pipeline = th
			res.OverheadUS = overhead
		}
	}
	if res.Ceiling.Rate > 0 {
		res.Ratio = res.Pipeline.Rate / res.Ceiling.Rate
		res.RatioProxied = res.PipelineProxied.Rate / res.Ceiling.Rate
	}
	res.OrdersPerCore = res.Pipeline.Rate / float64(res.CPUs)
	if !opt.NoReference {
		if opt.Progress != nil {
			fmt.Fprintln(opt.Progress, "reference: the speed auto picks for random-vs-least-conn on this machine")
		}
		ref, err := scenarios.Builtin("random-vs-least-conn")
		if err != nil {
			return nil, err
		}
		m, err := MeasureMachine(ctx, nil)
		if err != nil {
			return nil, err
		}
		c, err := AutoSpeed(ref, m, 0)
		if err != nil {
			return nil, err
		}
		res.Reference = &c
	}
	stopPeak()
	res.PeakHeapBytes, res.PeakRSSBytes = peak.max.Load(), peakRSS()
	return res, ctx.Err()
}

// benchPipeline runs the fault-free pipeline at full rate, its links
// wired directly, or all through toxiproxy; the direct one is profiled
// when opt.Profile is set.
func benchPipeline(ctx context.Context, opt BenchOptions, proxyAll bool) (th Throughput, overhead dynoTime, err error) {
	wiring := "links wired directly"
	if proxyAll {
		wiring = "every link through toxiproxy"
	}
	if opt.Progress != nil {
		fmt.Fprintf(opt.Progress, "pipeline: vegeta → edge → router → %d dynos × %d workers → gateway + db, %s\n",
			opt.Dynos, opt.Workers, wiring)
	}
	p, err := benchPlan(opt)
	if err != nil {
		return th, overhead, err
	}
	if proxyAll {
		p.ProxyEvery = true
	}
	dir := filepath.Join(opt.Dir, map[bool]string{false: "direct", true: "proxied"}[proxyAll])
	sys, err := embedded.Runtime{}.Start(ctx, p.Topology(), dir)
	if err != nil {
		return th, overhead, exit.CannotRun(fmt.Errorf("pipeline: boot: %w", err))
	}
	defer sys.Close()
	if err := WaitHealthy(ctx, &http.Client{Timeout: 10 * time.Second}, sys); err != nil {
		return th, overhead, exit.CannotRun(fmt.Errorf("pipeline: %w", err))
	}
	orders := load.OrderSource{Seed: p.Seed, Customers: p.Load.Customers, Amount: p.Load.Amount}
	profile := opt.Profile != nil && !proxyAll
	if profile {
		if err := pprof.StartCPUProfile(opt.Profile); err != nil {
			return th, overhead, exit.CannotRun(fmt.Errorf("cpu profile: %w", err))
		}
	}
	th = fullRate(ctx, opt, func(i int, t *vegeta.Target) {
		load.Target(t, sys.Edge, orders.Order(i))
	}, func(r *vegeta.Result) bool {
		return r.Code == http.StatusCreated && r.Headers.Get(wire.HeaderAnsweredBy) == wire.AnsweredByProduction
	})
	if profile {
		pprof.StopCPUProfile()
	}
	overhead.Mean, overhead.P99 = dynoOverhead(ctx, sys)
	return th, overhead, ctx.Err()
}

// dynoTime is a mean and p99 in µs.
type dynoTime struct {
	Mean float64 `json:"mean"`
	P99  float64 `json:"p99"`
}

// benchPlan is the fault-free pipeline with nothing modelled: no service
// time, no gateway latency, timeouts far away, room for every request.
func benchPlan(opt BenchOptions) (*Plan, error) {
	s := scenarios.Default()
	s.Name, s.Speed = "bench", 1
	s.System.Dynos.Count, s.System.Dynos.Workers, s.System.Dynos.Backlog = opt.Dynos, opt.Workers, 100_000
	s.System.Dynos.ServiceTime = scenarios.TimeDist{Dist: "const"}
	s.System.Gateway.Latency = scenarios.TimeDist{Dist: "const"}
	s.System.Router.Strategy = "least-conn"
	s.System.Edge.FailoverTimeout, s.System.Router.Timeout = time.Minute, time.Minute
	s.Load.Timeout, s.Load.Customers = time.Minute, 100_000
	return NewPlan(&s, "bench")
}

// fullRate sends requests as fast as opt.Connections of them in flight
// allow, until opt.Duration or opt.MaxHits, and measures what came back.
func fullRate(ctx context.Context, opt BenchOptions, target func(int, *vegeta.Target), ok func(*vegeta.Result) bool) Throughput {
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		target(int(next.Add(1)-1), t)
		return nil
	}
	conns := uint64(opt.Connections)
	atk := vegeta.NewAttacker(vegeta.Workers(conns), vegeta.MaxWorkers(conns), vegeta.Connections(opt.Connections),
		vegeta.MaxConnections(opt.Connections), vegeta.Timeout(time.Minute), vegeta.KeepAlive(true), vegeta.MaxBody(4096))
	defer atk.Stop()
	var out Throughput
	lat := make([]float64, 0, 1<<16)
	began := time.Now()
	results := atk.Attack(targeter, hitCap(opt.MaxHits), opt.Duration, "bench")
	for r := range results {
		if ctx.Err() != nil {
			atk.Stop()
		}
		out.Requests++
		if ok(r) {
			out.OK++
			lat = append(lat, float64(r.Latency)/float64(time.Millisecond))
		} else if len(out.Errors) < 5 {
			out.Errors = append(out.Errors, fmt.Sprintf("%d %s %s", r.Code, r.Error, strings.TrimSpace(string(r.Body))))
		}
	}
	out.WallS = time.Since(began).Seconds()
	if out.WallS > 0 {
		out.Rate = float64(out.OK) / out.WallS
	}
	if out.Errors == nil {
		out.Errors = []string{}
	}
	sort.Float64s(lat)
	if n := len(lat); n > 0 {
		out.Latency = result.Percentiles{P50: checker.Quantile(lat, 0.5), P95: checker.Quantile(lat, 0.95), P99: checker.Quantile(lat, 0.99), Max: lat[n-1]}
	}
	return out
}

// hitCap is vegeta at full rate (no wait between hits) for at most max
// hits.
type hitCap uint64

var _ vegeta.Pacer = hitCap(0)

// Pace never waits, and stops after the cap.
func (c hitCap) Pace(_ time.Duration, hits uint64) (time.Duration, bool) { return 0, hits >= uint64(c) }

// Rate is unbounded.
func (hitCap) Rate(time.Duration) float64 { return 0 }

// bareHandler reads an order and answers a short JSON body: the least a
// server can do per request.
func bareHandler() http.Handler {
	answer := []byte(`{"request_id":"x","reference":"ord-0000001","amount_cents":3500,"status":"accepted"}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
}

// dynoOverhead reads every dyno's records: the mean and p99 of each
// order's worker hold beyond its sampled service time, in µs.
func dynoOverhead(ctx context.Context, sys *system.System) (mean, p99 float64) {
	var xs []float64
	client := &http.Client{Timeout: time.Minute}
	for i := 1; i <= sys.Dynos; i++ {
		recs, err := service.Fetch[wire.DynoRecord](ctx, client, sys.URL(topology.DynoName(i))+wire.PathExport)
		if err != nil {
			continue
		}
		for _, r := range recs {
			if r.Outcome != "refused" {
				xs = append(xs, float64(r.Busy-r.Service)/float64(time.Microsecond))
			}
		}
	}
	if len(xs) == 0 {
		return 0, 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	sort.Float64s(xs)
	return sum / float64(len(xs)), checker.Quantile(xs, 0.99)
}

// heapPeak samples the Go heap in use.
type heapPeak struct{ max atomic.Uint64 }

// watch samples every 50 ms until the returned stop is called (safe to
// call twice).
func (h *heapPeak) watch() (stop func()) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value; v.Kind() == metrics.KindUint64 && v.Uint64() > h.max.Load() {
			h.max.Store(v.Uint64())
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait(); read() }) }
}

// peakRSS is the process's resident high-water mark (Linux VmHWM), 0 when
// unknown.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb * 1024
			}
		}
	}
	return 0
}
