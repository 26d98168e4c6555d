// Package early takes the signals that decide a container's stop from the
// first Go code of the process, for the two stages that run as PID 1:
// stage1 (/init) and stage3 (s6-svscan's finish or crash). It has no
// dependency beyond os/signal and package signals (syscall and os only),
// so that its init function runs before nearly every other package's: it
// takes signals.Caught, and a SIGTERM that reaches a fresh /init is
// kept for stage1 (which replays it as a shutdown request once s6-svscan
// is ready) instead of ending it with Go's default, exit 2.
//
// What remains is the Go runtime's own start before any init function
// runs (see the README's Shutdown section).
package early

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/ignity/ignity/pkg/signals"
)

// caught receives signals.Caught when this process is stage1 or stage3;
// nil otherwise. Buffered: nothing reads it until the stage's code runs.
var caught chan os.Signal

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
	if st == "stage3" {
		// Before the signals are caught: catching starts the runtime's
		// signal thread, a pid the degraded stop may not have.
		if short = TooFewPids(PidsDirs); short != "" {
			return
		}
	}
	caught = make(chan os.Signal, 32)
	signal.Notify(caught, signals.Caught()...)
}

// short is why stage3 must take the degraded stop, or "".
var short string

// Short is why this stage3 must take the degraded stop (too few pids for
// the normal one: see TooFewPids), or "". Its signals are then not
// caught here.
func Short() string { return short }

// Signals is the channel the early signals went to, or nil when this
// process took none (not a stage that runs as PID 1, or a test).
func Signals() chan os.Signal { return caught }

// stage names the PID-1 stage argv runs, as cmd/ignity-init dispatches
// it: "stage1" for /init (or ignity init), "stage3" for s6-svscan's
// .s6-svscan/finish or crash; "" otherwise.
func stage(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	if signals.RunsStage3(signals.Control(argv[0])) {
		return "stage3"
	}
	name := filepath.Base(argv[0])
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

// StopPathPids is how many pids the normal stop needs to spare when
// stage3 starts (beyond those its own start took): a finalize script at
// a time, the CMD's cmd-exit, and the threads stage3 starts as it goes
// (its reaper, the finalize scripts' goroutine). Below it, stage3 takes
// the degraded path (package stages). Measured with test/docker's TestStopUnderPidsLimit
// (see the README's Shutdown section, "Spare pids").
const StopPathPids = 5

// PidsDirs are where a container sees its own pids cgroup: cgroup v2
// (with a cgroup namespace, Docker's default there), then v1's pids
// controller (Docker 20.10 on v1 mounts the container's own group there).
var PidsDirs = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/pids"}

// pidsLimit is the pids limit of this process's cgroup and the count in
// use, from the first of dirs with a numeric pids.max; ok is false with
// no limit ("max"), or none found.
func pidsLimit(dirs []string) (limit, current int, ok bool) {
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "pids.max"))
		if err != nil {
			continue
		}
		limit, err = strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, 0, false // "max": no limit
		}
		b, err = os.ReadFile(filepath.Join(dir, "pids.current"))
		if err != nil {
			return 0, 0, false
		}
		current, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return limit, current, err == nil
	}
	return 0, 0, false
}

// TooFewPids says why the normal stop cannot run, naming the limit and
// the count, or "" when it can (or no limit applies).
func TooFewPids(dirs []string) string {
	limit, current, ok := pidsLimit(dirs)
	if !ok || limit-current >= StopPathPids {
		return ""
	}
	return fmt.Sprintf("pids limit %d with %d in use leaves %d, and the stop needs %d", limit, current, max(limit-current, 0), StopPathPids)
}
