package container

import (
	"errors"
	"fmt"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
)

// ExitError is a failure with the exit code it ends the program (a
// stage, or the container) with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit is err ending the program with code.
func Exit(code int, err error) error { return &ExitError{code, err} }

// ExitCode is the exit code err ends the program with: the one an
// ExitError in its chain carries, else ExitSystem.
func ExitCode(err error) int {
	var e *ExitError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitSystem
}

// What the boot does instead of stopping, as the warning of a
// FailurePolicy says it.
const (
	Continuing  = "continuing"
	StartingCmd = "starting the CMD anyway"
)

// FailurePolicy is IGNITY_BEHAVIOUR_IF_STAGE2_FAILS's answer
// (S6_BEHAVIOUR_IF_STAGE2_FAILS, config.Config.ContinueOnFailure) to a
// boot failure it covers: a perms
// or fix-attrs.d fix not made, an init script or the stage2 hook failing,
// the services the CMD waits for not up in time, a dependency failing.
// Either the container stops with the failure's exit code, or the boot
// goes on with a warning. This is the one place that rule is written.
type FailurePolicy struct {
	continueOn bool
	log        *console.Logger
}

// Policy is cfg's failure policy, warning on log.
func Policy(cfg config.Config, log *console.Logger) FailurePolicy {
	return FailurePolicy{cfg.ContinueOnFailure, log}
}

// Fail decides on failure: under the stop policy it is failure, ending
// the container with code; under the continue policy it is nil once the
// warning "<failure>: <instead>, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks"
// is logged (instead is Continuing or StartingCmd).
func (p FailurePolicy) Fail(failure error, code int, instead string) error {
	if p.continueOn {
		p.log.Warn("%v: %s, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks", failure, instead)
		return nil
	}
	return Exit(code, failure)
}

// FailScript is Fail for a script that failed the boot (an init script,
// the stage2 hook) with status: under the stop policy the container stops
// with that status, and the error says so.
func (p FailurePolicy) FailScript(failure error, status int) error {
	if err := p.Fail(failure, status, Continuing); err != nil {
		return fmt.Errorf("%w: the container stops", err)
	}
	return nil
}
