// Package exit carries DESIGN.md's exit codes on errors, the way k6
// does: a layer deep inside marks why a run cannot go on (BadInput,
// CannotRun), wrapping keeps the innermost mark, and the command line
// reads it in one place (Code).
package exit

import "errors"

// Exit codes of DESIGN.md, carried by wrapped errors so the command line
// maps them in one place.
const (
	CodeExpectationFailed = 1
	CodeBadInput          = 2
	CodeCannotRun         = 3
)

// Error carries the exit code an error should end the process with.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// BadInput marks err as the user's input being wrong (exit 2), unless
// something deeper in it already carries a code: the innermost code wins,
// so wrapping never hides why a run ended.
func BadInput(err error) error { return withCode(err, CodeBadInput) }

// CannotRun marks err as the harness being unable to run (exit 3), unless
// something deeper in it already carries a code.
func CannotRun(err error) error { return withCode(err, CodeCannotRun) }

func withCode(err error, code int) error {
	if err == nil {
		return nil
	}
	var inner *Error
	if errors.As(err, &inner) {
		return err
	}
	return &Error{Code: code, Err: err}
}

// Code returns the code err carries, 3 for an unmarked error, 0 for nil.
func Code(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeCannotRun
}
