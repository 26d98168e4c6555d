// Package container is what ignity's programs act on in the container:
// its paths, the programs they run, and the calls that cannot be undone,
// exec and kill. Default is the real container's; tests stand in for the
// programs and for exec. It also holds the exit codes every program
// shares, documented in the README, the error that carries one
// (ExitError), and the failure policy that decides whether a boot failure
// ends the container with its code (FailurePolicy).
package container

import (
	"io"
	"os"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"golang.org/x/sys/unix"
)

// Exit codes, documented in the README.
const (
	ExitUsage  = 100 // usage or configuration error
	ExitSystem = 111 // system call failure
)

// System is what the stages act on: the paths, the programs they run and
// the calls that cannot be undone, exec and kill. Default is the real
// container's; tests stand in for the programs and for exec.
type System struct {
	Layout   layout.Layout
	Programs layout.Programs
	Exe      string // this binary, which the handlers and stage2 run
	Exec     func(path string, argv, env []string) error
	Kill     func(pid int, sig unix.Signal) error
	Stderr   io.Writer
}

// Default is the System of a real container, with exe as this binary.
func Default(exe string) System {
	return System{
		Layout:   layout.Default,
		Programs: layout.DefaultPrograms,
		Exe:      exe,
		Exec:     unix.Exec,
		Kill:     unix.Kill,
		Stderr:   os.Stderr,
	}
}

// State is the run state under s's /run/ignity, its signals sent
// through s's Kill.
func (s System) State() runstate.State {
	return runstate.New(s.Layout.Run()).WithKill(s.Kill)
}
