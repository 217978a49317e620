package harness

import (
	"context"
	"paydrill/internal/machine"
	"runtime"
	"testing"
	"time"
)

// Both phases are bounded in count: a cap of 300 requests ends each long
// before its 30 s.
func TestBenchMeasuresBothPhasesWithinItsBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the system")
	}
	machine.Exclusive(t)
	res, err := Bench(context.Background(), BenchOptions{
		Duration: 30 * time.Second, MaxHits: 300, Connections: 8, Dynos: 2, Workers: 4, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name string
		th   Throughput
	}{{"ceiling", res.Ceiling}, {"pipeline", res.Pipeline}, {"pipeline proxied", res.PipelineProxied}} {
		th := p.th
		if th.Requests != 300 || th.OK != 300 {
			t.Errorf("%s: %d requests, %d as expected (%v); want 300 and 300", p.name, th.Requests, th.OK, th.Errors)
		}
		if th.WallS <= 0 || th.WallS > 20 || th.Rate <= 0 {
			t.Errorf("%s: %d in %.2fs, %.0f/s: want well under the 30 s bound", p.name, th.OK, th.WallS, th.Rate)
		}
		if l := th.Latency; !(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("%s: latency percentiles %+v out of order", p.name, l)
		}
	}
	if res.Reference == nil || res.Reference.Speed < 1 || res.Reference.Why == "" {
		t.Errorf("reference speed %+v: want the speed auto picks, with why", res.Reference)
	}
	if res.Ratio <= 0 || res.Ratio > 1 {
		t.Errorf("pipeline / ceiling = %v, want in (0, 1]: the pipeline cannot beat a bare handler", res.Ratio)
	}
	if res.PeakHeapBytes == 0 || (runtime.GOOS == "linux" && res.PeakRSSBytes < res.PeakHeapBytes) {
		t.Errorf("peak heap %d, peak RSS %d: want both measured", res.PeakHeapBytes, res.PeakRSSBytes)
	}
	if res.OverheadUS.Mean <= 0 {
		t.Errorf("unmodelled dyno time %v: want the dynos' records read", res.OverheadUS)
	}
}

// A time bound ends a phase whatever its count.
func TestBenchStopsAtItsDuration(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the system")
	}
	machine.Exclusive(t)
	began := time.Now()
	res, err := Bench(context.Background(), BenchOptions{
		Duration: 300 * time.Millisecond, MaxHits: 1 << 40, Connections: 4, Dynos: 1, Workers: 2, Dir: t.TempDir(), NoReference: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ceiling.WallS > 5 || res.Pipeline.WallS > 5 || res.Ceiling.OK == 0 || res.Pipeline.OK == 0 {
		t.Fatalf("ceiling %d in %.1fs, pipeline %d in %.1fs: want some requests, each phase ending near 0.3 s",
			res.Ceiling.OK, res.Ceiling.WallS, res.Pipeline.OK, res.Pipeline.WallS)
	}
	t.Logf("whole bench in %s", time.Since(began))
}
