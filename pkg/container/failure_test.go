package container

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
)

// TestFailurePolicy: under the continue policy a failure is a warning
// saying what the boot does instead, and no error; under the stop policy
// it is the failure, unchanged in its text, with its exit code, and
// nothing is logged.
func TestFailurePolicy(t *testing.T) {
	failure := errors.New("init script /etc/ignity/init/10-x exited 3")
	for _, tt := range []struct {
		name      string
		continues bool
		instead   string
		code      int
		wantLog   string
	}{
		{"continue", true, Continuing, 3, "ignity: warning: init script /etc/ignity/init/10-x exited 3: continuing, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks\n"},
		{"continue before the CMD", true, StartingCmd, 1, "ignity: warning: init script /etc/ignity/init/10-x exited 3: starting the CMD anyway, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks\n"},
		{"stop", false, Continuing, 3, ""},
		{"stop with usage", false, StartingCmd, ExitUsage, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := Policy(config.Config{ContinueOnFailure: tt.continues}, console.To(&out, 1))
			err := p.Fail(failure, tt.code, tt.instead)
			if out.String() != tt.wantLog {
				t.Errorf("logged %q, want %q", out.String(), tt.wantLog)
			}
			if tt.continues {
				if err != nil {
					t.Errorf("Fail = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != failure.Error() || !errors.Is(err, failure) {
				t.Fatalf("Fail = %v, want %v", err, failure)
			}
			if got := ExitCode(fmt.Errorf("wrapped: %w", err)); got != tt.code {
				t.Errorf("ExitCode = %d, want %d", got, tt.code)
			}
		})
	}
}

// An error without a code of its own is a system failure.
func TestExitCodeDefault(t *testing.T) {
	if got := ExitCode(errors.New("mkdir /run/ignity: read-only file system")); got != ExitSystem {
		t.Errorf("ExitCode = %d, want %d", got, ExitSystem)
	}
}
