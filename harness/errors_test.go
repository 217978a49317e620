package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"paydrill/harness/embedded"
	"paydrill/harness/system"
	"paydrill/harness/topology"
	"paydrill/scenarios"
)

// An exit code attached deep inside survives the layers that wrap it: a
// bad input found while booting is still exit 2, not "could not run".
func TestInnermostExitCodeWins(t *testing.T) {
	inner := BadInput(errors.New("fault 1 names no link"))
	wrapped := CannotRun(fmt.Errorf("boot: %w", inner))
	if got := ExitCode(wrapped); got != ExitBadInput {
		t.Errorf("exit %d, want %d", got, ExitBadInput)
	}
	if wrapped.Error() != "boot: fault 1 names no link" {
		t.Errorf("message %q lost its context", wrapped.Error())
	}
	if got := ExitCode(CannotRun(errors.New("docker is down"))); got != ExitCannotRun {
		t.Errorf("a plain error: exit %d, want %d", got, ExitCannotRun)
	}
	if got := ExitCode(fmt.Errorf("unmarked")); got != ExitCannotRun {
		t.Errorf("an unmarked error: exit %d, want %d", got, ExitCannotRun)
	}
}

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
	if ExitCode(err) != ExitBadInput || !strings.Contains(fmt.Sprint(err), "--runtime docker") {
		t.Errorf("err %v (exit %d), want bad input pointing at --runtime docker", err, ExitCode(err))
	}
	if starts != 0 {
		t.Errorf("the runtime was started %d times before the fault was refused", starts)
	}
}
