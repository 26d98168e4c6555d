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
// pkg/container (what every program acts on), pkg/proc (running and
// reaping programs).
package stages

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
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

// failWith is err ending the stage (or the container) with code, and
// codeOf the exit code of a step's error: container.Exit and
// container.ExitCode, the failure policy's own (container.FailurePolicy).
func failWith(code int, err error) error { return container.Exit(code, err) }
func codeOf(err error) int               { return container.ExitCode(err) }

// scripts lists the candidates of dir in name order, skipping dot files.
func scripts(dir string) []string {
	names, err := confdir.Names(dir)
	if err != nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out
}

// runScript runs the program path (an init or finalize script) after
// checking it as `ignity check` does, in its own process group, with
// stdin from /dev/null (the container's stdin belongs to the CMD), for at
// most max (0 = no limit; at the bound the group is killed and the error
// is proc.ErrTimeout). wait delivers its status: a reaper's in a process
// that reaps everything, or proc.WaitPid. When stop delivers, the group
// gets SIGTERM and the error is proc.ErrStopped.
func runScript(l layout.Layout, path string, env []string, max time.Duration, wait func(pid int) <-chan unix.WaitStatus, stop <-chan os.Signal) (int, error) {
	if argv := v2Argv(l, path); argv != nil {
		return proc.Run(argv, env, max, wait, stop)
	}
	if err := check.Program(l, path); err != nil {
		return 0, err
	}
	return proc.Run([]string{path}, env, max, wait, stop)
}

// v2Argv is how a cont-init.d or cont-finish.d script that is not
// executable runs: s6-overlay v2 made them executable at every boot, and
// v2Modes does too where it may; where it may not (a non-root boot over
// root's files, a read-only root) the script runs through the interpreter
// its #! line names, with that line's one argument, as the kernel would
// run it, or /bin/sh without one, as execvp would. nil for any other file,
// and for one this process may execute.
func v2Argv(l layout.Layout, path string) []string {
	if d := filepath.Dir(path); d != l.EtcContInit() && d != l.EtcContFinish() {
		return nil
	}
	if unix.Access(path, unix.X_OK) == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil // the check names it
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	line, _, _ := strings.Cut(string(head[:n]), "\n")
	interp, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return []string{"/bin/sh", path}
	}
	prog, arg, _ := strings.Cut(strings.TrimLeft(interp, " \t"), " ")
	if arg = strings.TrimSpace(arg); arg != "" {
		return []string{prog, arg, path}
	}
	return []string{prog, path}
}

// present reports whether p exists, a symlink itself counted.
func present(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
