package harness

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydrill/harness/embedded"
	"paydrill/harness/exit"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
)

// startCounter is the embedded runtime, counting its boots.
type startCounter struct {
	embedded.Runtime
	starts *int
}

func (s startCounter) Start(ctx context.Context, t *topology.Topology, dir string) (*system.System, error) {
	*s.starts++
	return s.Runtime.Start(ctx, t, dir)
}

// A container fault on the embedded runtime is bad input (exit 2), found
// before any component starts.
func TestUnsupportedFaultIsRefusedBeforeBoot(t *testing.T) {
	s := scenarios.Default()
	s.Faults = []scenarios.Fault{{At: time.Second, For: time.Second, Target: "capture", Toxic: "kill"}}
	p, err := NewPlan(&s, "unsupported")
	if err != nil {
		t.Fatal(err)
	}
	starts := 0
	_, err = Run(context.Background(), p, Options{Runtime: startCounter{starts: &starts}, Dir: t.TempDir()})
	if exit.Code(err) != exit.CodeBadInput || !strings.Contains(fmt.Sprint(err), "--runtime docker") {
		t.Errorf("err %v (exit %d), want bad input pointing at --runtime docker", err, exit.Code(err))
	}
	if starts != 0 {
		t.Errorf("the runtime was started %d times before the fault was refused", starts)
	}
}
