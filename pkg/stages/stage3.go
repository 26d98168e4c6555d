package stages

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/svc"
	"golang.org/x/sys/unix"
)

// Stage3 brings the container down. s6-svscan execs it (as its finish or
// crash program), so it is PID 1, parent of every s6-supervise, and the
// one reaper. Each phase ends as soon as its condition holds or its bound
// expires:
//
//	CMD gets SIGTERM ─┬─ services told down (dx) ─ wait ≤ SERVICES_GRACETIME
//	                  └─ finalize scripts, each ≤ KILL_FINALIZE_MAXTIME
//	→ SIGTERM+SIGCONT to all, wait ≤ KILL_GRACETIME → SIGKILL to all → exit
func Stage3(l layout.Layout) int {
	// As PID 1 a signal with no handler is dropped, but Go installs
	// handlers that exit, and leaves the stop signals at their default,
	// which stops a stage3 that is not PID 1: catch them all, and ignore
	// what arrives. (Catching, not ignoring: children must get default
	// dispositions.)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP, unix.SIGABRT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGPIPE, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU)
	go func() {
		for range sigs {
		}
	}()
	reaper := proc.NewReaper()

	envs, err := envload.ReadDir(l.RunEnvs())
	if err != nil {
		envs = os.Environ()
	}
	cfg, err := config.Parse(envs)
	if err != nil {
		cfg = config.Default()
	}
	log := newLogger(cfg.Verbosity)
	env := childEnv(envs)
	start := time.Now()
	// A user's s6-svscanctl -t reaches here without a recorded reason:
	// record one before looking for the CMD (see stage2's runCmd).
	writeStateOnce(l, stateReason, "s6-svscan exited")
	reason, _ := readState(l, stateReason)
	log.debug("finalize", "shutdown: %s", reason)

	// Ask the CMD to exit; without one, stop the boot if it is still
	// going. Once the CMD runs, stage2's pid is its waiter, then cmd-exit,
	// a Go program that a SIGTERM would kill before it records the status.
	cmdRunning := false
	if pgid, ok := readStateInt(l, stateCmdPgid); ok {
		cmdRunning = true
		unix.Kill(-pgid, unix.SIGTERM)
		unix.Kill(-pgid, unix.SIGCONT)
	} else if pid, ok := readStateInt(l, stateStage2); ok {
		unix.Kill(pid, unix.SIGTERM)
	}

	log.info("finalize", "Executing environment finalize scripts...")
	var finalize sync.WaitGroup
	finalize.Add(1)
	go func() {
		defer finalize.Done()
		runFinalize(l, reaper, env, cfg, log)
		log.info("finalize", "Finalize scripts executed")
	}()

	fifos := stopServices(l, reason == "SIGQUIT", log)
	log.info("finalize", "Waiting for services")
	servicesDeadline := start.Add(cfg.ServicesGrace)
	// Checked after every reap: dropping the supervisors seen gone from the
	// front, and stopping at the first still there, opens each FIFO about
	// once in all instead of all of them after every exit.
	left := fifos
	allGone := func() bool {
		for len(left) > 0 && !svc.Listening(left[0]) {
			left = left[1:]
		}
		return len(left) == 0
	}
	if !reaper.WaitUntil(servicesDeadline, allGone) {
		log.warn("still running after IGNITY_SERVICES_GRACETIME=%d ms: %s (a logger waits for every writer of its pipe to exit)",
			cfg.ServicesGrace.Milliseconds(), strings.Join(supervised(l, listening(left)), ", "))
	}
	finalize.Wait()
	if pid, ok := readStateInt(l, stateStage2); ok {
		// stage2 stopping, or the CMD's waiter recording its status: give
		// it the time the services had, before everything gets SIGTERM.
		reaper.WaitUntil(servicesDeadline, func() bool { return !proc.Alive(pid) })
	}

	if cfg.SyncDisks {
		log.info("finalize", "Syncing disks")
		unix.Sync()
	}
	log.info("finalize", "Sending all processes the termination signals")
	proc.SignalAll(unix.SIGTERM)
	proc.SignalAll(unix.SIGCONT)
	if !reaper.WaitNone(time.Now().Add(cfg.KillGrace)) {
		log.debug("finalize", "processes left after IGNITY_KILL_GRACETIME")
	}
	log.info("finalize", "Sending all processes the kill signal and exiting")
	proc.SignalAll(unix.SIGKILL)
	reaper.WaitNone(time.Now().Add(time.Second))

	return exitStatus(l, cmdRunning)
}

// exitStatus is the CMD's status, the failed init script's, or 0. A CMD
// that was running and left no status was killed with everything else.
func exitStatus(l layout.Layout, cmdRunning bool) int {
	if n, ok := readStateInt(l, stateExit); ok {
		return n
	}
	if _, ok := readState(l, stateCmdPgid); ok && cmdRunning {
		return 128 + int(unix.SIGKILL)
	}
	return 0
}

// stopServices tells every s6-supervise to bring its service down and
// exit (what s6-svc -dx does), and returns the control FIFOs to watch. A
// logger is only told to exit once its service is down, so it drains the
// pipe and loses no line; on SIGQUIT it is stopped too, as s6 does.
func stopServices(l layout.Layout, quit bool, log *logger) []string {
	list, err := svc.List(l.Scandir())
	if err != nil {
		return nil
	}
	var fifos []string
	for _, s := range list {
		fifo := svc.Control(s.Dir)
		if svc.Send(fifo, "dx") == nil {
			fifos = append(fifos, fifo)
		}
		if s.Logged {
			cmd := "x"
			if quit {
				cmd = "dx"
			}
			logFifo := svc.Control(filepath.Join(s.Dir, "log"))
			if svc.Send(logFifo, cmd) == nil {
				fifos = append(fifos, logFifo)
			}
		}
	}
	log.debug("finalize", "%d supervisors told to stop", len(fifos))
	return fifos
}

// listening returns the fifos that still have a reader.
func listening(fifos []string) []string {
	var out []string
	for _, f := range fifos {
		if svc.Listening(f) {
			out = append(out, f)
		}
	}
	return out
}

// supervised names the services of control fifos: "web", "web/log".
func supervised(l layout.Layout, fifos []string) []string {
	names := make([]string, len(fifos))
	for i, f := range fifos {
		names[i], _ = filepath.Rel(l.Scandir(), filepath.Dir(filepath.Dir(f)))
	}
	return names
}

// runFinalize runs the finalize scripts in name order, each bounded by
// IGNITY_KILL_FINALIZE_MAXTIME. They run even when the boot failed; if it
// failed before they were copied, the image's own are used.
func runFinalize(l layout.Layout, r *proc.Reaper, env []string, cfg config.Config, log *logger) {
	dir := execDir(l, l.RunFinalize(), l.EtcFinalize())
	if len(scripts(dir)) == 0 {
		dir = l.EtcFinalize()
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		log.error(err)
		return
	}
	defer null.Close()
	for _, s := range scripts(dir) {
		if err := checkExecutable(s); err != nil {
			log.error(fmt.Errorf("finalize script %w", err))
			continue
		}
		pid, err := proc.Start([]string{s}, env, []*os.File{null, os.Stdout, os.Stderr})
		if err != nil {
			log.error(fmt.Errorf("finalize script %s: %w", s, err))
			continue
		}
		status, err := proc.Bounded(pid, r.Wait(pid), cfg.FinalizeMax)
		switch {
		case err != nil:
			log.warn("finalize script %s killed after IGNITY_KILL_FINALIZE_MAXTIME=%d ms", etcName(l, s), cfg.FinalizeMax.Milliseconds())
		case status != 0:
			log.warn("finalize script %s exited %d", etcName(l, s), status)
		}
	}
}
