package harness

import (
	"testing"
	"time"

	"paydrill/harness/result"
	"paydrill/scenarios"
)

// machineOf is a measured machine whose orders each cost cpu of processor
// time and work of real dyno work, on free CPUs.
func machineOf(cpu, work time.Duration, free float64) *result.MachineCost {
	m := &result.MachineCost{CPUPerOrderUS: float64(cpu) / 1e3, FreeCPUs: free, TimerLagUS: 100}
	m.PipelineRate = free / cpu.Seconds()
	for range 100 {
		m.Works = append(m.Works, work)
	}
	m.WorkP50US, m.WorkP90US = float64(work)/1e3, float64(work)/1e3
	return m
}

func TestAutoSpeedFollowsTheMachine(t *testing.T) {
	s := scenarios.Default()
	s.Speed = scenarios.SpeedAuto
	fast, err := AutoSpeed(&s, machineOf(time.Millisecond, 500*time.Microsecond, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := AutoSpeed(&s, machineOf(2*time.Millisecond, time.Millisecond, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fast machine: %s", fast.Why)
	t.Logf("half as fast: %s", slow.Why)
	if !(slow.Speed < fast.Speed) || slow.LimitedBy != "overrun" {
		t.Errorf("a machine half as fast got speed %g (limited by %s), the fast one %g: want a lower speed, limited by the overrun",
			slow.Speed, slow.LimitedBy, fast.Speed)
	}
	// Whatever it picks keeps within the margin on every bound.
	for _, c := range []result.SpeedChoice{fast, slow} {
		if c.CPUShare > 0.5 || c.Overrun*c.Amplification > maxQueueDistortion/2 {
			t.Errorf("speed %g: cpu %.2f, overrun %.3f × %.2f: past the factor 2 of margin", c.Speed, c.CPUShare, c.Overrun, c.Amplification)
		}
	}
}

func TestAutoSpeedIsBoundByCPUWhenTheLoadIsHeavy(t *testing.T) {
	s := scenarios.Default()
	s.Speed = scenarios.SpeedAuto
	s.Load.Rate = 200
	s.System.Dynos.Count = 200
	c, err := AutoSpeed(&s, machineOf(2*time.Millisecond, 10*time.Microsecond, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	// 2 free CPUs at 2 ms an order take 1000 orders/s: half is 500, so
	// 200 orders/s may run at 2.5 at most.
	if c.Speed != 2.5 || c.LimitedBy != "cpu" {
		t.Errorf("speed %g limited by %s, want 2.5 limited by cpu (%s)", c.Speed, c.LimitedBy, c.Why)
	}
	busy, err := AutoSpeed(&s, machineOf(2*time.Millisecond, 10*time.Microsecond, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if busy.Speed >= c.Speed {
		t.Errorf("with one CPU free instead of two: speed %g, want less than %g", busy.Speed, c.Speed)
	}
}

func TestAutoSpeedKeepsTheRuntimesLimitAndItsFloor(t *testing.T) {
	s := scenarios.Default()
	s.Speed = scenarios.SpeedAuto
	c, err := AutoSpeed(&s, machineOf(100*time.Microsecond, time.Microsecond, 2), 5)
	if err != nil {
		t.Fatal(err)
	}
	if c.Speed != 5 || c.LimitedBy != "runtime" {
		t.Errorf("speed %g limited by %s, want the runtime's 5", c.Speed, c.LimitedBy)
	}
	// A machine that cannot even keep real time gets the floor, and says so.
	s.Load.Rate = 2000
	floor, err := AutoSpeed(&s, machineOf(10*time.Millisecond, 50*time.Millisecond, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	if floor.Speed != 1 || floor.LimitedBy != "cpu" {
		t.Errorf("speed %g limited by %s, want 1 limited by cpu", floor.Speed, floor.LimitedBy)
	}
}
