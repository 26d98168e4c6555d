// Package cmdrun is the CMD's own internal applets, which stage2's waiter
// runs around it (see stage2's startCmd): cmd-start, the CMD's first
// moments before its exec; cmd-exit, its status recorded as the
// container's; cmd-lost, the container stopped when the waiter died
// before that status was recorded. Each reads the configuration once, at
// its entry.
package cmdrun

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/kballard/go-shellquote"
	"golang.org/x/sys/unix"
)

// Exit is cmd-exit. It runs after the CMD, in the waiter's place, with
// its status in execline's "?" as foreground sets it: the code, or 256+n
// for a death by signal n (128+n in the log and the container's status).
// args are the watcher's pid (see stage2's startCmd), "--" and the CMD.
// Once the status is recorded the watcher is killed: it is this process's
// child, so its pid cannot have been reused.
func Exit(sys container.System, args []string) int {
	st := sys.State()
	cfg, cerr := st.Config()
	log := console.To(sys.Stderr, 1)
	if cerr == nil {
		log.SetLevel(cfg.Verbosity)
	}
	watcher, cmd := pidAndCmd(args)
	status, err := proc.ExeclineStatus(os.Getenv("?"))
	if err != nil {
		log.Error(fmt.Errorf("cmd-exit: %w", err))
		status = container.ExitSystem
	}
	err = exited(st, log, cmd, status)
	if watcher > 0 {
		sys.Kill(watcher, unix.SIGKILL)
	}
	if err != nil {
		log.Error(err)
		return container.ExitSystem
	}
	return 0
}

// exited logs the CMD's end and hands its status to runstate, which
// records it as the container's and starts the shutdown.
func exited(st runstate.State, log *console.Logger, cmd []string, status int) error {
	log.Info("cmd", "%s exited %d", shellquote.Join(cmd...), status)
	return st.CmdExited(status)
}

// pidAndCmd splits "PID -- CMD..." (the applets' arguments).
func pidAndCmd(args []string) (int, []string) {
	if len(args) == 0 {
		return 0, nil
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return 0, dashdash(args)
	}
	return pid, dashdash(args[1:])
}

func dashdash(a []string) []string {
	if len(a) > 0 && a[0] == "--" {
		return a[1:]
	}
	return a
}

// Start is cmd-start, the CMD's first moments, forked by its waiter (see
// stage2's startCmd), a transient process: it takes a process group of
// its own, makes it the terminal's foreground group when stdin is a
// terminal (a child in a new session could not take the terminal PID 1's
// session owns), records the group, looks the CMD up in the PATH of its
// own environment (the image's, as the init scripts left it) and execs
// it. args are the waiter's end of the watcher's pipe, which the CMD must
// not inherit, "--" and the CMD. It returns only when the CMD cannot run:
// 127 not found, 126 not executable, 111 when the group cannot be
// recorded.
func Start(sys container.System, args []string) int {
	log := console.To(sys.Stderr, 1)
	st := sys.State()
	fd, cmd := pidAndCmd(args)
	if fd > 2 {
		unix.CloseOnExec(fd)
	}
	if err := unix.Setpgid(0, 0); err != nil {
		log.Error(fmt.Errorf("cmd: take a process group: %w", err))
		return container.ExitSystem
	}
	if err := foregroundGroup(); err != nil {
		log.Error(fmt.Errorf("cmd: make its group the terminal's foreground group: %w", err))
	}
	if err := st.CmdStarted(os.Getpid()); err != nil {
		log.Error(fmt.Errorf("cmd: %w", err))
		return container.ExitSystem
	}
	// A stop signal sent to the group before the exec may be lost (see
	// CmdStopSent): the CMD then does not start, and ends as that signal
	// would have ended it.
	stopped := false
	exec := func(path string, argv, env []string) error {
		if st.CmdStopSent() {
			stopped = true
			return errStoppedBeforeExec
		}
		return sys.Exec(path, argv, env)
	}
	err := proc.Exec(cmd, os.Environ(), exec)
	if stopped {
		return 128 + int(st.CmdStopSignal())
	}
	log.Error(fmt.Errorf("cmd: %w", err))
	var e *proc.ExecError
	if errors.As(err, &e) {
		return e.Code
	}
	return 126
}

// errStoppedBeforeExec: the shutdown's stop signal came before the CMD's exec.
var errStoppedBeforeExec = errors.New("stopped before the exec")

// foregroundGroup makes this process's group the foreground group of the
// terminal on stdin, if it is one. Asked from a background group, the
// kernel sends SIGTTOU, which would stop us: it is blocked meanwhile, on
// this thread, the one that asks (and the CMD inherits the mask, so it is
// unblocked before the exec).
func foregroundGroup() error {
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	set.Val[(unix.SIGTTOU-1)/64] |= 1 << ((uint(unix.SIGTTOU) - 1) % 64)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
		return err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return unix.IoctlSetPointerInt(0, unix.TIOCSPGRP, unix.Getpgrp())
}

// Lost is cmd-lost, the watcher's last step: the waiter's end of its pipe
// closed. When the CMD's status was recorded, nothing is wrong (cmd-exit
// kills the watcher first, but may itself die first). Otherwise the
// waiter was killed: nobody will see the CMD exit, so the container stops
// now, with status 111, and says why. args are the waiter's pid, "--" and
// the CMD.
func Lost(sys container.System, args []string) int {
	st := sys.State()
	if _, ok := st.ExitStatus(); ok {
		return 0
	}
	waiter, cmd := pidAndCmd(args)
	log := console.To(sys.Stderr, 1)
	log.Info("cmd", "the waiter of %s (pid %d) died before the CMD's exit was recorded: stopping the container with status %d", shellquote.Join(cmd...), waiter, container.ExitSystem)
	_, err := st.SetExitStatus(container.ExitSystem)
	if err = errors.Join(err, st.RequestShutdown(ReasonWaiterLost)); err != nil {
		log.Error(err)
		return container.ExitSystem
	}
	return 0
}

// ReasonWaiterLost is the shutdown reason when the CMD's waiter died.
const ReasonWaiterLost = "cmd waiter died"
