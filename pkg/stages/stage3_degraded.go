package stages

// The degraded stop: what stage3 does when the container's pids limit
// leaves too few pids for the normal one. Every thread takes a pid of the
// limit, and a Go runtime that cannot start a thread aborts (fatal error:
// newosproc, exit 2): so this path forks nothing and starts no goroutine.
// It signals, polls wait4 with WNOHANG between sleeps (a sleeping
// goroutine needs no new thread), and exits with the stop's status.

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ignity/ignity/pkg/proc"
	earlysig "github.com/ignity/ignity/pkg/stages/early"
	"golang.org/x/sys/unix"
)

// stopPathPids is how many pids the normal stop needs to spare when
// stage3 starts (beyond those its own start took): a finalize script at
// a time, the CMD's cmd-exit, and the threads stage3 starts as it goes
// (its reaper, the finalize scripts' goroutine). Below it, stage3 takes
// the degraded path. Measured with test/docker's TestStopUnderPidsLimit
// (see the README's Shutdown section, "Spare pids").
const stopPathPids = 3

// pidsDirs are where a container sees its own pids cgroup: cgroup v2
// (with a cgroup namespace, Docker's default there), then v1's pids
// controller (Docker 20.10 on v1 mounts the container's own group there).
var pidsDirs = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/pids"}

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

// tooFewPids says why the normal stop cannot run, naming the limit and
// the count, or "" when it can (or no limit applies).
func tooFewPids(dirs []string) string {
	limit, current, ok := pidsLimit(dirs)
	if !ok || limit-current >= stopPathPids {
		return ""
	}
	return fmt.Sprintf("pids limit %d with %d in use leaves %d, and the stop needs %d", limit, current, max(limit-current, 0), stopPathPids)
}

// errNoPids marks a fork that failed for want of a pid (EAGAIN: the pids
// limit, or RLIMIT_NPROC).
func errNoPids(err error) bool { return errors.Is(err, unix.EAGAIN) }

// degraded is the whole stop when pids are short: one line saying why
// and what is skipped, the CMD's stop signal, SIGTERM to everything,
// SIGKILL at IGNITY_KILL_GRACETIME, reap, exit. The status is the CMD's
// when it was recorded, else the CMD's stop signal's (128+n: it got it,
// and what it died of cannot be known), else the normal outcome.
func (d *stage3) degraded(why string) int {
	sigs := earlysig.Signals()
	if sigs != nil {
		// The signal loop runs already (package early): adding signals to
		// its channel starts no goroutine.
		signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP, unix.SIGABRT,
			unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGPIPE, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU)
	}
	if err := d.readConfig(); err != nil {
		d.log.Error(err)
	}
	d.log.Info("finalize", "%s: skipping the finalize scripts and the services' graceful stop; sending all processes the termination signals", why)
	if err := d.record(); err != nil {
		d.log.Error(err)
	}
	if pgid, ok := d.st.CmdGroup(); ok {
		d.cmdRan, d.cmd = true, pgid
		if err := d.st.StopCmd(); err != nil {
			d.log.Error(err)
		}
	} else if d.stage2 != 0 {
		d.sys.Kill(d.stage2, unix.SIGTERM)
	}
	d.signalAll(unix.SIGTERM)
	d.signalAll(unix.SIGCONT)
	if !pollNone(time.Now().Add(d.cfg.KillGrace)) {
		d.log.Info("finalize", "Sending all processes the kill signal and exiting")
		proc.SignalAll(unix.SIGKILL)
		pollNone(time.Now().Add(time.Second))
	}
	if n, ok := d.st.ExitStatus(); ok {
		return n
	}
	if d.cmdRan {
		return 128 + int(d.cfg.CmdStopSignal)
	}
	return d.st.Outcome(false)
}

// pollNone reaps every child until none is left (wait4 says ECHILD: as
// PID 1 every process of the namespace is a descendant) or the deadline
// passes, and says which. No goroutine, no blocking wait4: nothing here
// needs a thread the runtime does not have.
func pollNone(deadline time.Time) bool {
	pause := time.Millisecond
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.ECHILD {
				return true
			}
			if pid <= 0 && err != unix.EINTR {
				break
			}
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 20*time.Millisecond)
	}
}
