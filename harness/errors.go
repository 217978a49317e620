package harness

import "errors"

// Exit codes of DESIGN.md, carried by wrapped errors so the command line
// maps them in one place.
const (
	ExitExpectationFailed = 1
	ExitBadInput          = 2
	ExitCannotRun         = 3
)

// ExitError carries the exit code an error should end the process with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// BadInput marks err as the user's input being wrong (exit 2), unless
// something deeper in it already carries a code: the innermost code wins,
// so wrapping never hides why a run ended.
func BadInput(err error) error { return withCode(err, ExitBadInput) }

// CannotRun marks err as the harness being unable to run (exit 3), unless
// something deeper in it already carries a code.
func CannotRun(err error) error { return withCode(err, ExitCannotRun) }

func withCode(err error, code int) error {
	if err == nil {
		return nil
	}
	var inner *ExitError
	if errors.As(err, &inner) {
		return err
	}
	return &ExitError{Code: code, Err: err}
}

// ExitCode returns the code err carries, 3 for an unmarked error, 0 for nil.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitCannotRun
}
