package exit

import (
	"errors"
	"fmt"
	"testing"
)

// An exit code attached deep inside survives the layers that wrap it: a
// bad input found while booting is still exit 2, not "could not run".
func TestInnermostExitCodeWins(t *testing.T) {
	inner := BadInput(errors.New("fault 1 names no link"))
	wrapped := CannotRun(fmt.Errorf("boot: %w", inner))
	if got := Code(wrapped); got != CodeBadInput {
		t.Errorf("exit %d, want %d", got, CodeBadInput)
	}
	if wrapped.Error() != "boot: fault 1 names no link" {
		t.Errorf("message %q lost its context", wrapped.Error())
	}
	if got := Code(CannotRun(errors.New("docker is down"))); got != CodeCannotRun {
		t.Errorf("a plain error: exit %d, want %d", got, CodeCannotRun)
	}
	if got := Code(fmt.Errorf("unmarked")); got != CodeCannotRun {
		t.Errorf("an unmarked error: exit %d, want %d", got, CodeCannotRun)
	}
}
