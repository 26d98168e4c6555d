// Package early takes the signals that decide a container's stop from the
// first Go code of the process, for the two stages that run as PID 1:
// stage1 (/init) and stage3 (s6-svscan's finish or crash). It has no
// dependency beyond os/signal, so that its init function runs before
// nearly every other package's: a SIGTERM that reaches a fresh /init is
// kept for stage1 (which replays it as a shutdown request once s6-svscan
// is ready) instead of ending it with Go's default, exit 2.
//
// What remains is the Go runtime's own start before any init function
// runs (see the README's Shutdown section).
package early

import (
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
)

// Caught are the signals taken here: the terminating ones, and those
// that mean nothing before a CMD runs but whose Go default is to exit.
var Caught = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT,
	syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH,
}

// signals receives Caught when this process is stage1 or stage3; nil
// otherwise. Buffered: nothing reads it until the stage's code runs.
var signals chan os.Signal

func init() {
	st := stage(os.Args)
	if st != "stage1" {
		// The fewest threads: every thread takes a pid of the container's
		// pids limit, and a stop (stage3, the handlers, a service's
		// finish, cmd-exit) may have only a few to spare. Only /init
		// has work (perms) that more threads would speed up.
		runtime.GOMAXPROCS(1)
	}
	if st == "" {
		return
	}
	signals = make(chan os.Signal, 32)
	signal.Notify(signals, Caught...)
}

// Signals is the channel the early signals went to, or nil when this
// process took none (not a stage that runs as PID 1, or a test).
func Signals() chan os.Signal { return signals }

// stage names the PID-1 stage argv runs, as cmd/ignity-init dispatches
// it: "stage1" for /init (or ignity init), "stage3" for s6-svscan's
// .s6-svscan/finish or crash; "" otherwise.
func stage(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	name := filepath.Base(argv[0])
	if filepath.Base(filepath.Dir(argv[0])) == ".s6-svscan" && (name == "finish" || name == "crash") {
		return "stage3"
	}
	if (name == "ignity" || name == "ignity-init") && len(argv) > 1 {
		name = argv[1]
	}
	switch name {
	case "init":
		return "stage1"
	case "stage3":
		return "stage3"
	}
	return ""
}
