package harness

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/load"
	"paydrill/harness/result"
	"paydrill/harness/topology"
	"paydrill/scenarios"
	"paydrill/sim/dist"
	"paydrill/sim/service"
	"paydrill/sim/wire"
)

// speed: auto. A speed can be trusted when the machine keeps up with the
// model at it, which depends on the machine, the scenario's load and its
// system together, never on the speed alone. So the harness measures what
// an order costs this machine (MeasureMachine, about a second), then picks
// the highest speed of a short ladder at which, with a factor 2 of margin
// on every bound the saturation check (health.go) applies:
//
//   - CPU: the scenario's peak order rate times the speed, at the CPU an
//     order costs here, takes at most half of the CPUs that were free;
//   - the dynos' real work (their db and gateway calls, which no model
//     time covers beyond the service time) overruns the compressed
//     service times by little enough that, amplified by the queue's
//     utilisation, it adds at most half of maxQueueDistortion to the mean
//     queue time; the real work is measured at light load and stretched
//     by 1/(1−u) for the CPU share u the run itself will take;
//   - timers: the 10 ms ticker's lateness while measuring, times the
//     speed, is at most half of maxTimerLagModel.

// speedLadder are the speeds auto chooses from: round numbers a person
// reads at a glance.
var speedLadder = []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100}

// lightGap is the time between the calibration's light-load orders.
const lightGap = 4 * time.Millisecond

// calibrationLatency is the gateway latency of the calibration pipeline.
const calibrationLatency = 2 * time.Millisecond

// autoMargin is the factor of margin auto leaves on each bound.
const autoMargin = 2

// standbyMargin is the margin with a standby region: after the failover
// the standby takes the load and the replay at once, new dynos, a fresh
// db and the reconciler with them, and that is where such a run's queue
// distortion concentrates; measured on 2 cores, it came to two or three
// times what the overrun model gives from light load.
const standbyMargin = 4

// marginFor is the factor of margin auto leaves for s.
func marginFor(s *scenarios.Scenario) float64 {
	if s.HasStandby() {
		return standbyMargin
	}
	return autoMargin
}

// fractionWord names 1/margin: "half", "a quarter".
func fractionWord(margin float64) string {
	if margin == 4 {
		return "a quarter"
	}
	if margin == 2 {
		return "half"
	}
	return fmt.Sprintf("1/%g", margin)
}

// Calibrator measures the machine once per wiring and keeps the figure,
// so a suite or a sweep measures once, not once a row. The zero value is
// ready; it is safe for concurrent use.
type Calibrator struct {
	mu    sync.Mutex
	costs map[string]*result.MachineCost
}

// Cost returns the machine's cost for the pipeline with the given links
// proxied (the others wired directly), measuring it the first time.
func (c *Calibrator) Cost(ctx context.Context, proxied []string) (*result.MachineCost, error) {
	key := strings.Join(proxied, ",")
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.costs[key]; ok {
		return m, nil
	}
	m, err := MeasureMachine(ctx, proxied)
	if err != nil {
		return nil, err
	}
	if c.costs == nil {
		c.costs = map[string]*result.MachineCost{}
	}
	c.costs[key] = m
	return m, nil
}

// MeasureMachine boots the fault-free pipeline (4 dynos × 16 workers, no
// modelled service time, a 2 ms gateway latency) with the given links
// proxied, watches the machine idle for a moment (what else is running),
// then sends it 200 orders one at a time, 4 ms apart: the dynos' records
// give the real work per order, the process's CPU time the cost of one.
func MeasureMachine(ctx context.Context, proxied []string) (*result.MachineCost, error) {
	began := time.Now()
	dir, err := os.MkdirTemp("", "paydrill-calibrate-")
	if err != nil {
		return nil, exit.CannotRun(err)
	}
	defer os.RemoveAll(dir)
	opt := BenchOptions{Dir: dir}
	opt.defaults()
	p, err := benchPlan(opt)
	if err != nil {
		return nil, err
	}
	p.AlsoProxied = proxied
	// A short gateway latency, as every run has one: its timer's wake-up
	// is part of what the machine adds to an order.
	p.Gateway.Latency = dist.Spec{Kind: "const", Value: calibrationLatency.Seconds()}
	sys, err := embedded.Runtime{}.Start(ctx, p.Topology(), dir)
	if err != nil {
		return nil, exit.CannotRun(fmt.Errorf("measuring the machine: boot: %w", err))
	}
	defer sys.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	if err := WaitHealthy(ctx, client, sys); err != nil {
		return nil, exit.CannotRun(fmt.Errorf("measuring the machine: %w", err))
	}
	lag := &lagMeter{}
	lagCtx, stopLag := context.WithCancel(ctx)
	defer stopLag()
	go lag.run(lagCtx)

	// What the machine and this process do without the orders.
	idle0 := readCPU()
	select {
	case <-ctx.Done():
		return nil, exit.CannotRun(ctx.Err())
	case <-time.After(idleWatch):
	}
	idle1 := readCPU()

	orders := load.OrderSource{Seed: 1, Customers: 100_000, Amount: p.Load.Amount}
	// Light load, paced as a run's orders are: one every lightGap, so the
	// machine idles between them and every hop pays its wake-up, as it
	// does in a run (back to back, the work is about half as long).
	const light = 200
	tick := time.NewTicker(lightGap)
	defer tick.Stop()
	for i := range light {
		select {
		case <-ctx.Done():
			return nil, exit.CannotRun(ctx.Err())
		case <-tick.C:
		}
		req, err := load.OrderRequest(ctx, sys.Edge, orders.Order(i))
		if err != nil {
			return nil, exit.CannotRun(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, exit.CannotRun(fmt.Errorf("measuring the machine: %w", err))
		}
		resp.Body.Close()
	}
	busy1 := readCPU()
	stopLag()

	m := &result.MachineCost{}
	for i := 1; i <= sys.Dynos; i++ {
		recs, err := service.Fetch[wire.DynoRecord](ctx, client, sys.URL(topology.DynoName(i))+wire.PathExport)
		if err != nil {
			return nil, exit.CannotRun(fmt.Errorf("measuring the machine: %w", err))
		}
		for _, r := range recs {
			if r.Outcome == wire.StateCharged {
				m.Works = append(m.Works, max(r.Work-r.Gateway, 0))
			}
		}
	}
	if len(m.Works) < light/2 {
		return nil, exit.CannotRun(fmt.Errorf("measuring the machine: only %d of %d orders were charged", len(m.Works), light))
	}
	sort.Slice(m.Works, func(i, j int) bool { return m.Works[i] < m.Works[j] })
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	m.WorkP50US, m.WorkP90US = us(m.Works[len(m.Works)/2]), us(m.Works[len(m.Works)*9/10])
	m.TimerLagUS = us(lag.p99())

	// The orders' CPU: the process's during the orders, less its rate
	// while idle (other runs in this process) over the same time.
	idleRate := idle1.rate(idle0)
	orderWall := busy1.wall.Sub(idle1.wall).Seconds()
	raw := busy1.self - idle1.self
	self := raw - time.Duration(idleRate.self*orderWall*float64(time.Second))
	if self < raw/4 {
		// What else ran in this process was too uneven to subtract (other
		// runs beside this one): count all of it, erring on the safe side.
		self = raw
	}
	m.CPUPerOrderUS = max(us(self)/light, 1)
	cpus := float64(runtime.NumCPU())
	m.FreeCPUs = cpus
	if idleRate.machine > 0 {
		// The other processes' share of the machine while it idled.
		others := max(idleRate.machine-idleRate.self, 0)
		m.FreeCPUs = max(cpus-others, 0.25)
	}
	m.PipelineRate = m.FreeCPUs / (m.CPUPerOrderUS / 1e6)
	m.WallS = time.Since(began).Seconds()
	return m, nil
}

// idleWatch is how long the calibration watches the machine before its
// orders, to see what else is running.
const idleWatch = 300 * time.Millisecond

// cpuReading is the CPU time spent so far by this process and by the
// whole machine (0 where /proc/stat is unknown), at wall.
type cpuReading struct {
	wall          time.Time
	self, machine time.Duration
}

// cpuRate is CPU seconds a wall second.
type cpuRate struct{ self, machine float64 }

func (r cpuReading) rate(since cpuReading) cpuRate {
	d := r.wall.Sub(since.wall).Seconds()
	if d <= 0 {
		return cpuRate{}
	}
	return cpuRate{self: (r.self - since.self).Seconds() / d, machine: (r.machine - since.machine).Seconds() / d}
}

func readCPU() cpuReading {
	return cpuReading{wall: time.Now(), self: processCPU(), machine: machineCPU()}
}

// peakRate is the highest order rate of s's load, orders per model
// second, as the dynos may see it: with a standby region, the load and the
// replay at once, since after the failover the standby takes the load and
// what capture took meanwhile (minutes of orders, replayed at the
// replayer's rate), through one more hop (the gslb).
func peakRate(s *scenarios.Scenario) float64 {
	peak := s.Load.Rate
	for _, st := range s.Load.Stages {
		peak = max(peak, st.Rate)
	}
	if s.HasStandby() && s.System.Replayer.Mode != "manual" {
		peak += s.System.Replayer.Rate
	}
	return peak
}

// machineCPU is the busy time of every CPU since boot, from /proc/stat's
// first line (user nice system irq softirq steal, in clock ticks of
// 1/100 s); 0 where there is none.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// AutoSpeed picks the speed for s on a machine of cost m, at most limit
// (0: no limit beyond the ladder).
func AutoSpeed(s *scenarios.Scenario, m *result.MachineCost, limit float64) (result.SpeedChoice, error) {
	model, err := newOverrunModel(s)
	if err != nil {
		return result.SpeedChoice{}, err
	}
	peak := peakRate(s)
	margin := marginFor(s)
	check := func(sp float64) (c result.SpeedChoice, broken string) {
		c = result.SpeedChoice{Speed: sp, Machine: *m}
		c.CPUShare = peak * sp / m.PipelineRate
		c.Overrun = model.overrun(sp, m.Works, c.CPUShare)
		c.Amplification = model.amplification
		switch {
		case c.CPUShare > 1.0/margin:
			return c, "cpu"
		case c.Overrun*c.Amplification > maxQueueDistortion/margin:
			return c, "overrun"
		case time.Duration(m.TimerLagUS*float64(time.Microsecond)*sp) > time.Duration(float64(maxTimerLagModel)/margin):
			return c, "timers"
		}
		return c, ""
	}
	best, _ := check(speedLadder[0])
	best.LimitedBy = "ladder"
	var next result.SpeedChoice
	for _, sp := range speedLadder {
		if limit > 0 && sp > limit {
			best.LimitedBy = "runtime"
			break
		}
		c, broken := check(sp)
		if broken != "" {
			if sp == speedLadder[0] {
				best = c // the floor: the run says whether it kept up
			}
			best.LimitedBy, next = broken, c
			break
		}
		best = c
		best.LimitedBy = "ladder"
	}
	best.Why = explainChoice(best, next, m, margin)
	return best, nil
}

func explainChoice(c, next result.SpeedChoice, m *result.MachineCost, margin float64) string {
	machine := fmt.Sprintf("an order costs this machine %.0f µs of CPU (%.1f CPUs free: %.0f orders/s at most), and a dyno's real work for it %.2f ms (median, light load)",
		m.CPUPerOrderUS, m.FreeCPUs, m.PipelineRate, m.WorkP50US/1000)
	budget := fmt.Sprintf("a factor %g of margin", margin)
	if margin != autoMargin {
		budget += " (a standby region's failover)"
	}
	part := fractionWord(margin)
	var why string
	switch c.LimitedBy {
	case "cpu":
		why = fmt.Sprintf("at %g the load would take %.0f%% of the free CPUs, past %s", next.Speed, 100*next.CPUShare, part)
	case "overrun":
		why = fmt.Sprintf("at %g the dynos' real work would add about %.1f%% to their busy time, ×%.1f in queue time at this utilisation: past %s of the %.0f%% the saturation check allows",
			next.Speed, 100*next.Overrun, next.Amplification, part, 100*maxQueueDistortion)
	case "timers":
		why = fmt.Sprintf("at %g timers would run up to %.0f ms late in model time, past %s of the %s allowed",
			next.Speed, m.TimerLagUS*next.Speed/1000, part, maxTimerLagModel)
	case "runtime":
		why = "the runtime runs no faster (its hops are slower than this machine's loopback)"
	default:
		why = "the highest speed auto picks"
	}
	if c.Speed == speedLadder[0] && next.Speed == c.Speed {
		return fmt.Sprintf("speed auto: %g, the lowest it picks, and even that leaves less than %s: %s; %s", c.Speed, budget, machine, why)
	}
	return fmt.Sprintf("speed auto chose %g (%s, %.0f%% of the free CPUs): %s; %s", c.Speed, budget, 100*c.CPUShare, machine, why)
}

// overrunModel holds samples of the scenario's modelled service and
// gateway times, to estimate what share of the busy time a given real
// work time overruns at a speed.
type overrunModel struct {
	service, gateway []float64 // model seconds
	busy             float64   // Σ service + gateway
	amplification    float64   // what the utilisation multiplies a busy-time share by in queue time
}

func newOverrunModel(s *scenarios.Scenario) (*overrunModel, error) {
	sd, err := s.System.Dynos.ServiceTime.Spec().Dist()
	if err != nil {
		return nil, exit.BadInput(fmt.Errorf("system.dynos.service_time: %w", err))
	}
	gd, err := s.System.Gateway.Latency.Spec().Dist()
	if err != nil {
		return nil, exit.BadInput(fmt.Errorf("system.gateway.latency: %w", err))
	}
	const n = 2000
	r := rand.New(rand.NewSource(s.Seed))
	m := &overrunModel{service: make([]float64, n), gateway: make([]float64, n)}
	timeout := s.System.App.GatewayTimeout.Seconds()
	for i := range n {
		m.service[i] = sd.Sample(r)
		m.gateway[i] = min(gd.Sample(r), timeout)
		m.busy += m.service[i] + m.gateway[i]
	}
	peak := peakRate(s)
	rho := min(peak*m.busy/n/float64(s.System.Dynos.Count*s.System.Dynos.Workers), 0.95)
	// A share ε more busy time raises ρ and E[S] by ε each: the mean
	// wait of an M/M/1 queue, ρ·E[S]/(1−ρ), moves by about
	// ε·(2 + ρ/(1−ρ)).
	m.amplification = 2 + rho/(1-rho)
	return m, nil
}

// overrun is the expected share of the modelled busy time by which real
// work (works, wall, measured at light load and stretched by 1/(1−cpu))
// overruns the service time at speed sp.
func (m *overrunModel) overrun(sp float64, works []time.Duration, cpu float64) float64 {
	if len(works) == 0 || m.busy <= 0 {
		return 0
	}
	stretch := 1 / math.Max(1-cpu, 0.05)
	var over float64
	for i, svc := range m.service {
		w := works[i%len(works)].Seconds() * stretch * sp // in model seconds
		over += max(w-svc, 0)
	}
	return over / m.busy
}
