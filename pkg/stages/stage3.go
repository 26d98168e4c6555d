package stages

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/execline"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/logprefix"
	"github.com/ignity/ignity/pkg/overlay"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
	"github.com/ignity/ignity/pkg/signals"
	earlysig "github.com/ignity/ignity/pkg/stages/early"
	"golang.org/x/sys/unix"
)

// Stage3 brings the container down. s6-svscan execs it (as its finish or
// crash program), so it is PID 1, parent of every s6-supervise, and the
// one reaper. Each phase ends as soon as its condition holds or its bound
// expires:
//
//	CMD gets SIGTERM ─┬─ services told down (dx) ─ wait ≤ SERVICES_GRACETIME
//	                  └─ finalize scripts, each ≤ KILL_FINALIZE_MAXTIME
//	→ the log prefixer drains and exits ┐
//	→ SIGTERM+SIGCONT to all            ┴ wait ≤ KILL_GRACETIME → SIGKILL to all → exit
func Stage3(sys container.System) int {
	d := &stage3{sys: sys, st: sys.State(), start: time.Now()}
	d.log = console.To(sys.Stderr, 1)
	// First, before anything starts a thread or a process: are there
	// pids enough for the normal stop?
	if why := earlysig.Short(); why != "" {
		return d.degraded(why)
	}
	for _, s := range d.steps() {
		if err := s.run(); err != nil {
			// Nothing may stop a shutdown half-way: say it and go on.
			d.log.Error(err)
		}
	}
	return d.st.Outcome(d.cmdRan)
}

func (d *stage3) steps() []step {
	return []step{
		{"catch every signal", d.catchSignals},
		{"read the configuration", d.readConfig},
		{"record the shutdown", d.record},
		{"stop the CMD, or the boot", d.stopCmd},
		{"read the environment of the finalize scripts", d.readEnv},
		{"run the finalize scripts while the services stop", d.stopServices},
		{"sync the disks", d.sync},
		{"stop the log prefixer, once the services are down", d.stopPrefixer},
		{"send every process SIGTERM", d.terminate},
		{"send every process SIGKILL", d.kill},
		{"read s6-overlay's exit code file", d.exitcodeFile},
	}
}

// stage3 is what the steps of Stage3 share.
type stage3 struct {
	sys    container.System
	st     runstate.State
	cfg    config.Config
	env    []string // the merged environment, for the finalize scripts
	log    *console.Logger
	reaper *proc.Reaper
	start  time.Time
	reason string
	stage2 int  // pid
	cmdRan bool // a CMD was running when the shutdown began
	cmd    int  // its process group
	// killBy is when the last phase, the remaining processes' grace,
	// ends: IGNITY_KILL_GRACETIME after it begins, which is when the log
	// prefixer is told to stop, so that its drain fits the bound.
	killBy time.Time
	plan   *recordedPlan // read once, by startPlan
}

// recordedPlan is the start plan as the boot recorded it (see startPlan).
type recordedPlan struct {
	plan services.Plan
	ok   bool // the boot recorded one
	err  error
}

// startPlan is the start plan the boot recorded, read at its first use
// (the services' stop order, then the oneshots' down lines).
func (d *stage3) startPlan() (services.Plan, bool, error) {
	if d.plan == nil {
		p := &recordedPlan{}
		p.plan, p.ok, p.err = d.st.Plan()
		d.plan = p
	}
	return d.plan.plan, d.plan.ok, d.plan.err
}

// catchSignals: as PID 1 a signal with no handler is dropped, but Go
// installs handlers that exit, and leaves the stop signals at their
// default, which stops a stage3 that is not PID 1: catch them all, from
// the first init function on (package early), and ignore what arrives:
// nothing reads the channel, and os/signal drops what does not fit, so no
// goroutine (and no thread) is spent on it. (Catching, not ignoring:
// children must get default dispositions.) Then the reaper, the one
// caller of wait4(-1).
func (d *stage3) catchSignals() error {
	sigs := earlysig.Signals()
	if sigs == nil {
		sigs = make(chan os.Signal, 1)
	}
	signal.Notify(sigs, signals.All()...)
	d.reaper = proc.NewReaper()
	return nil
}

// readConfig reads the knobs stage1 recorded. Failing may not stop the shutdown: the
// defaults stand in.
func (d *stage3) readConfig() error {
	d.cfg = config.Default()
	boot, err := d.st.ReadBoot()
	if err == nil {
		d.stage2 = boot.Stage2
		d.cfg, err = config.Parse(boot.Knobs)
	}
	d.log.SetLevel(d.cfg.Verbosity)
	if err != nil {
		return fmt.Errorf("%w: shutting down with the default knobs", err)
	}
	return nil
}

// readEnv reads the merged environment the finalize scripts get, after
// the CMD was told to stop. An envdir that is missing, or that another
// uid could have made or changed (envload.ReadDir checks its owner), is
// not used: this process's environment, the container's, stands in.
func (d *stage3) readEnv() error {
	envs, err := envload.ReadDir(d.sys.Layout.RunEnvs())
	if err != nil {
		d.env = layout.ChildEnv(withoutGomaxprocs(os.Environ()))
		return fmt.Errorf("%w: the finalize scripts get the container's environment", err)
	}
	d.env = layout.ChildEnv(envs)
	return nil
}

func (d *stage3) record() error {
	var err error
	d.reason, err = d.st.ShutdownBegins()
	d.log.Debug("finalize", "shutdown: %s", d.reason)
	return err
}

// stopCmd asks the CMD to exit, unless a request did already (the CMD
// gets its stop signal once: runstate keeps the flag); without one, it
// stops the boot if it is still going. Once the CMD runs, stage2's pid is
// its waiter, then cmd-exit, a Go program that a SIGTERM would kill
// before it records the status: it is left alone.
func (d *stage3) stopCmd() error {
	if pgid, ok := d.st.CmdGroup(); ok {
		d.cmdRan, d.cmd = true, pgid
		return d.st.StopCmd()
	}
	if d.stage2 != 0 {
		d.sys.Kill(d.stage2, signals.Term)
	}
	return nil
}

// finishPoll is how often stopServices looks at the services whose finish
// runs: s6-supervise's child, whose end wakes nothing here.
const finishPoll = 10 * time.Millisecond

// stopServices runs the finalize scripts while every service stops, and
// waits for both, the services at most IGNITY_SERVICES_GRACETIME.
func (d *stage3) stopServices() error {
	d.log.Info("finalize", "Executing environment finalize scripts...")
	var finalize sync.WaitGroup
	finalize.Add(1)
	go func() {
		defer finalize.Done()
		d.finalize()
		d.log.Info("finalize", "Finalize scripts executed")
	}()

	deadline := d.start.Add(d.cfg.ServicesGrace)
	quit := d.reason == "SIGQUIT"
	groups := d.stopOrder()
	d.log.Info("finalize", "Waiting for services")
	// A service with a finish of its own is told down (d), and its
	// supervisor to exit (x) only once it is really down, its finish done
	// (the others are told both at once): after an x,
	// s6-supervise runs the last finish with stdout on /dev/null, and a
	// stopping service's last words are the ones an operator needs.
	// Checked after every reap, and every finishPoll while a finish runs
	// (a finish is s6-supervise's child: its end reaps nothing here):
	// dropping the supervisors seen gone from the front, and stopping at
	// the first still there, opens each FIFO about once in all instead of
	// all of them after every exit.
	var left []string             // supervisors' FIFOs, told to exit
	var finishing []s6.ServiceDir // told down, not yet told to exit
	allGone := func() bool {
		kept := finishing[:0]
		for _, s := range finishing {
			if st, err := s6.ReadStatus(s.Dir); err == nil && (st.Pid != 0 || st.Finishing) {
				kept = append(kept, s)
				continue
			}
			if fifo := s6.Control(s.Dir); s6.Send(fifo, "x") == nil {
				left = append(left, fifo)
			}
		}
		finishing = kept
		for len(left) > 0 && !s6.Listening(left[0]) {
			left = left[1:]
		}
		return len(finishing) == 0 && len(left) == 0
	}
	wait := func() bool {
		for {
			until := deadline
			if len(finishing) > 0 && time.Now().Add(finishPoll).Before(until) {
				until = time.Now().Add(finishPoll)
			}
			if d.reaper.WaitUntil(until, allGone) {
				return true
			}
			if !time.Now().Before(deadline) {
				return false
			}
		}
	}
	tell := func(g []s6.ServiceDir) {
		down, fifos := tellDown(g, quit)
		finishing = append(finishing, down...)
		left = append(left, fifos...)
	}
	// Dependents first: each group once the one before is down, all
	// within the one IGNITY_SERVICES_GRACETIME; at the deadline, what is
	// left is told at once.
	for i, g := range groups {
		tell(g)
		if i == len(groups)-1 {
			break
		}
		if !wait() {
			for _, rest := range groups[i+1:] {
				tell(rest)
			}
			break
		}
	}
	if !wait() {
		for _, s := range finishing {
			if fifo := s6.Control(s.Dir); s6.Send(fifo, "x") == nil {
				left = append(left, fifo)
			}
		}
		d.log.Warn("still running after IGNITY_SERVICES_GRACETIME=%d ms: %s (a logger waits for every writer of its pipe to exit)",
			d.cfg.ServicesGrace.Milliseconds(), strings.Join(supervised(d.sys.Layout, listening(left)), ", "))
	}
	finalize.Wait()
	if d.stage2 != 0 {
		// stage2 stopping, or the CMD's waiter recording its status: give
		// it the time the services had, before everything gets SIGTERM.
		d.reaper.WaitUntil(deadline, func() bool { return !proc.Alive(d.stage2) })
	}
	if pgid, ok := d.st.CmdGroup(); ok && unix.Kill(-pgid, 0) == nil {
		d.log.Warn("the CMD still runs after IGNITY_SERVICES_GRACETIME=%d ms: it gets SIGKILL once IGNITY_KILL_GRACETIME=%d ms more have passed; for a longer graceful stop raise IGNITY_SERVICES_GRACETIME, and docker stop -t (terminationGracePeriodSeconds, stop_grace_period) above the two together",
			d.cfg.ServicesGrace.Milliseconds(), d.cfg.KillGrace.Milliseconds())
	}
	return nil
}

// finalize runs the finalize scripts in name order, each bounded by
// IGNITY_KILL_FINALIZE_MAXTIME. They run even when the boot failed; if it
// failed before they were copied, the image's own are used.
func (d *stage3) finalize() {
	l := d.sys.Layout
	dir := execDir(s6.Noexec(l.Run()), l.RunFinalize(), l.EtcFinalize())
	if len(confdir.Paths(dir)) == 0 {
		dir = l.EtcFinalize()
	}
	for _, s := range overlay.FinalizeScripts(dir, l) {
		status, err := runScript(l, s, d.env, d.cfg.FinalizeMax, d.reaper.Wait, nil)
		switch {
		case errNoPids(err):
			// The rest of the stop forks nothing: it goes on, bounded.
			d.log.Info("finalize", "finalize script %s: %v: no pid to spare under the pids limit; skipping the finalize scripts left", etcName(l, s), err)
			return
		case err == proc.ErrTimeout:
			d.log.Warn("finalize script %s killed after IGNITY_KILL_FINALIZE_MAXTIME=%d ms", etcName(l, s), d.cfg.FinalizeMax.Milliseconds())
		case err != nil:
			d.log.Error(fmt.Errorf("finalize script %s: %w", etcName(l, s), err))
		case status != 0:
			d.log.Warn("finalize script %s exited %d", etcName(l, s), status)
		}
	}
	d.oneshotsDown()
}

// oneshotsDown runs the down line of every oneshot whose up completed,
// in reverse start order, with execlineb -P -c, each as a finalize
// script: at most IGNITY_KILL_FINALIZE_MAXTIME (or its timeout-down, when
// shorter), so that the shutdown bound counts it as one.
func (d *stage3) oneshotsDown() {
	plan, ok, err := d.startPlan()
	if err != nil {
		d.log.Error(err)
	}
	if !ok {
		return
	}
	for i := len(plan.Units) - 1; i >= 0; i-- {
		u := plan.Units[i]
		if u.Type != services.Oneshot || !execline.Runs(u.Down) {
			continue
		}
		if st, _, _ := d.st.UnitOf(u.Name); st != runstate.UnitStarted {
			continue
		}
		bound, what := d.cfg.FinalizeMax, fmt.Sprintf("IGNITY_KILL_FINALIZE_MAXTIME=%d ms", d.cfg.FinalizeMax.Milliseconds())
		if t := u.TimeoutDown; t > 0 && (bound == 0 || t < bound) {
			bound, what = t, fmt.Sprintf("its timeout-down (%d ms)", t.Milliseconds())
		}
		status, err := proc.Run([]string{d.sys.Programs.Execlineb, "-P", "-c", u.Down}, d.env, bound, d.reaper.Wait, nil)
		switch {
		case err == proc.ErrTimeout:
			d.log.Warn("oneshot %s: %s killed after %s", u.Name, u.DownFrom, what)
		case err != nil:
			d.log.Error(fmt.Errorf("oneshot %s: %s: %w", u.Name, u.DownFrom, err))
		case status != 0:
			d.log.Warn("oneshot %s: %s exited %d", u.Name, u.DownFrom, status)
		}
	}
}

func (d *stage3) sync() error {
	if d.cfg.SyncDisks {
		d.log.Info("finalize", "Syncing disks")
		unix.Sync()
	}
	return nil
}

// stopPrefixer: the log prefixer (IGNITY_LOG_PREFIX=1) is a service of
// the scandir (logprefix.Service), told down with the last services by
// stopServices: it drains their FIFOs until each has ended, then exits,
// so by now it is normally gone. The last phase, whose bound
// IGNITY_KILL_GRACETIME starts here, waits for it with every other
// process: a prefixer still running waits for a service that outlived
// IGNITY_SERVICES_GRACETIME, and ends once the SIGTERM or SIGKILL of
// that phase has ended it.
func (d *stage3) stopPrefixer() error {
	d.killBy = time.Now().Add(d.cfg.KillGrace)
	dir := filepath.Join(d.sys.Layout.Scandir(), logprefix.Service)
	if s6.Listening(s6.Control(dir)) {
		d.log.Debug("finalize", "log prefixer still draining: a service outlived IGNITY_SERVICES_GRACETIME")
	}
	return nil
}

func (d *stage3) terminate() error {
	d.log.Info("finalize", "Sending all processes the termination signals")
	d.signalAll(signals.Term)
	d.signalAll(unix.SIGCONT)
	if d.killBy.IsZero() {
		d.killBy = time.Now().Add(d.cfg.KillGrace)
	}
	if !d.reaper.WaitNone(d.killBy) {
		d.log.Debug("finalize", "processes left after IGNITY_KILL_GRACETIME")
	}
	return nil
}

// signalAll sends sig to every process (proc.SignalAll), but for the
// CMD's group when a CMD ran: it got its stop signal once already, and a
// second one is what makes many servers (Kubernetes' SetupSignalHandler,
// Node's) exit at once instead of finishing their graceful stop. It gets
// SIGKILL at the bound.
func (d *stage3) signalAll(sig unix.Signal) {
	if d.cmd == 0 || !groupAlive(d.cmd) {
		proc.SignalAll(sig)
		return
	}
	pids := proc.Descendants(os.Getpid())
	if os.Getpid() == 1 {
		pids = allPids()
	}
	for _, pid := range pids {
		if st, err := proc.ReadStat(pid); err == nil && st.PGRP != d.cmd && pid != os.Getpid() {
			unix.Kill(pid, sig)
		}
	}
}

// groupAlive reports whether the process group pgid has a member.
func groupAlive(pgid int) bool { return unix.Kill(-pgid, 0) == nil }

// allPids lists every process of the namespace.
func allPids() []int {
	pids, _ := proc.Pids()
	return pids
}

func (d *stage3) kill() error {
	d.log.Info("finalize", "Sending all processes the kill signal and exiting")
	proc.SignalAll(unix.SIGKILL)
	d.reaper.WaitNone(time.Now().Add(time.Second))
	return nil
}

// stopOrder groups the services of the scandir by the order they stop
// in: the highest level of the start plan first, a service the plan does
// not know (added by hand) with level 0. Without dependencies anywhere
// (or without a plan), one group: everything at once.
func (d *stage3) stopOrder() [][]s6.ServiceDir {
	list, err := s6.List(d.sys.Layout.Scandir())
	if err != nil {
		return nil
	}
	plan, _, err := d.startPlan()
	if err != nil {
		d.log.Error(fmt.Errorf("%w: stopping every service at once", err))
	}
	level := map[string]int{}
	top := 0
	for _, u := range plan.Units {
		level[u.Name] = u.Level
		top = max(top, u.Level)
	}
	groups := make([][]s6.ServiceDir, top+1)
	for _, s := range list {
		l := level[s.Name]
		groups[top-l] = append(groups[top-l], s)
	}
	var out [][]s6.ServiceDir
	for _, g := range groups {
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	d.log.Debug("finalize", "%d services to stop, in %d group(s), dependents first", len(list), len(out))
	return out
}

// tellDown tells the s6-supervise of each service of list to bring its
// service down: with a finish of the service's own, down only (s6-svc -d;
// stopServices tells it to exit once that finish is done), else down and
// exit (-dx). It returns the services told down only, and the control
// FIFOs to watch. A logger is only told to exit once its service is down, so it
// drains the pipe and loses no line; on SIGQUIT it is stopped too, as s6
// does.
func tellDown(list []s6.ServiceDir, quit bool) (down []s6.ServiceDir, fifos []string) {
	for _, s := range list {
		fifo := s6.Control(s.Dir)
		if _, err := os.Lstat(filepath.Join(s.Dir, s6.FinishUser)); err != nil {
			// No finish of the service's own: nothing to say that s6's
			// /dev/null would lose, so down and exit at once.
			if s6.Send(fifo, "dx") == nil {
				fifos = append(fifos, fifo)
			}
		} else if s6.Send(fifo, "d") == nil {
			down = append(down, s)
		}
		if s.Logged {
			cmd := "x"
			if quit {
				cmd = "dx"
			}
			logFifo := s6.Control(filepath.Join(s.Dir, "log"))
			if s6.Send(logFifo, cmd) == nil {
				fifos = append(fifos, logFifo)
			}
		}
	}
	return down, fifos
}

// listening returns the fifos that still have a reader.
func listening(fifos []string) []string {
	var out []string
	for _, f := range fifos {
		if s6.Listening(f) {
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

// withoutGomaxprocs drops GOMAXPROCS from env: the stage3 script sets it
// to 1 for stage3's own runtime, not for the finalize scripts.
func withoutGomaxprocs(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			out = append(out, kv)
		}
	}
	return out
}
