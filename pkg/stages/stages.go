// Package stages sequences a container's life: stage1 prepares /run/ignity
// and becomes s6-svscan; stage2 runs the init scripts, hands the services
// to s6 and runs the CMD; stage3 brings everything down. Each stage is a
// separate process image of the same binary, so no Go process stays
// resident while the container runs. Each reads as a table of contents:
// a list of named steps (step), run in order.
//
// What one stage tells another goes through pkg/runstate, and only
// there: the boot record, the shutdown request, the CMD's group, the exit
// status, the early signals. The jobs a stage calls on live below it:
// pkg/order (the dependency-ordered start), pkg/restart (the programs
// s6-supervise runs for a service: finish, backoff, run wrapper),
// pkg/overlay (s6-overlay's layout and paths), pkg/perms (applying the
// perms), pkg/container (what every program acts on, the exit codes and
// the failure policy), pkg/proc (running and reaping programs). Beside
// them, run by the names the stages install: pkg/sighandler (s6-svscan's
// signal handlers) and pkg/cmdrun (the CMD's applets around its waiter);
// pkg/signals is the signal policy they all follow.
package stages

import (
	"os"
	"time"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/overlay"
	"github.com/ignity/ignity/pkg/proc"
	"golang.org/x/sys/unix"
)

// step is one named part of a stage. Its name prints like what it does,
// so that a stage's list reads as its table of contents and tests assert
// the order.
type step struct {
	name string
	run  func() error
}

func (s step) String() string { return s.name }

// runSteps runs steps in order, up to the first error.
func runSteps(steps []step) error {
	for _, s := range steps {
		if err := s.run(); err != nil {
			return err
		}
	}
	return nil
}

// runScript runs the program path (an init or finalize script) after
// checking it as `ignity check` does, in its own process group, with
// stdin from /dev/null (the container's stdin belongs to the CMD), for at
// most max (0 = no limit; at the bound the group is killed and the error
// is proc.ErrTimeout). wait delivers its status: a reaper's in a process
// that reaps everything, or proc.WaitPid. When stop delivers, the group
// gets SIGTERM and the error is proc.ErrStopped.
func runScript(l layout.Layout, path string, env []string, max time.Duration, wait func(pid int) <-chan unix.WaitStatus, stop <-chan os.Signal) (int, error) {
	if argv := overlay.V2Argv(l, path); argv != nil {
		return proc.Run(argv, env, max, wait, stop)
	}
	if err := check.Program(l, path); err != nil {
		return 0, err
	}
	return proc.Run([]string{path}, env, max, wait, stop)
}

// present reports whether p exists, a symlink itself counted.
func present(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
