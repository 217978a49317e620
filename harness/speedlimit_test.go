package harness

import (
	"context"
	"fmt"
	"paydrill/harness/embedded"
	"paydrill/internal/machine"
	"strings"
	"testing"
)

// slowRuntime is the embedded runtime claiming docker's kind of limit.
type slowRuntime struct{ embedded.Runtime }

func (slowRuntime) SpeedLimit() float64 { return 2 }

// TestRuntimeSpeedLimitLowersTheScenariosSpeed: a runtime with a speed
// limit runs a faster scenario at its limit and says so in the result,
// unless the user chose the speed.
func TestRuntimeSpeedLimitLowersTheScenariosSpeed(t *testing.T) {
	machine.Shared(t) // no other package's exclusive whole-system test meanwhile
	body := `name: limited
speed: 4
duration: 8s
system: {dynos: {service_time: 2ms}, gateway: {latency: 1ms}}
load: {rate: 5/s}
settle: {quiet: 100ms, timeout: 10s}
expect: [lost_orders == 0]
`
	for _, keep := range []bool{false, true} {
		s := parseScenario(t, "limited.yaml", body)
		want := 2.0
		if keep {
			want = s.Speed
		}
		r, err := RunScenario(context.Background(), s, "limited", Options{Runtime: slowRuntime{}, Dir: t.TempDir(), KeepSpeed: keep})
		if err != nil {
			t.Fatal(err)
		}
		noted := strings.Contains(strings.Join(r.Harness.Notes, "\n"), fmt.Sprintf("ran at speed 2, not the scenario's %g", s.Speed))
		if r.Speed != want || noted == keep {
			t.Errorf("KeepSpeed %v: ran at speed %g with notes %q; want speed %g, and a note only when lowered", keep, r.Speed, r.Harness.Notes, want)
		}
		if r.ModelDurationS < 7.5 || r.Orders.Sent != 40 {
			t.Errorf("KeepSpeed %v: %.1f s model time, %d orders; want the scenario's 8 s and 40 orders whatever the speed",
				keep, r.ModelDurationS, r.Orders.Sent)
		}
	}
}
