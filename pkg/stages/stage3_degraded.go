package stages

// The degraded stop: what stage3 does when the container's pids limit
// leaves too few pids for the normal one. Every thread takes a pid of the
// limit, and a Go runtime that cannot start a thread aborts (fatal error:
// newosproc, exit 2): so this path forks nothing and starts no goroutine.
// It signals, polls wait4 with WNOHANG between sleeps (a sleeping
// goroutine needs no new thread), and exits with the stop's status.

import (
	"errors"
	"os/signal"
	"time"

	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/signals"
	"golang.org/x/sys/unix"
)

// errNoPids marks a fork that failed for want of a pid (EAGAIN: the pids
// limit, or RLIMIT_NPROC).
func errNoPids(err error) bool { return errors.Is(err, unix.EAGAIN) }

// degraded is the whole stop when pids are short: one line saying why
// and what is skipped, the CMD's stop signal, SIGTERM to everything,
// SIGKILL at IGNITY_KILL_GRACETIME, reap, exit. The status is the CMD's
// when it was recorded, else the CMD's stop signal's (128+n: it got it,
// and what it died of cannot be known), else the normal outcome.
func (d *stage3) degraded(why string) int {
	// Ignored, not caught: catching starts the runtime's signal thread.
	// Nothing is forked here to inherit SIG_IGN.
	signal.Ignore(signals.All()...)
	pollNone(time.Now()) // the stop handler's zombie holds a pid
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
		d.sys.Kill(d.stage2, signals.Term)
	}
	d.signalAll(signals.Term)
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
