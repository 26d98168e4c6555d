// Package restart is a service's life after the boot: the programs
// s6-supervise runs from a service dir that ignity installed. ignity's
// finish, run at every death of a service's run (a transient process: no
// Go stays resident), decides the restart and its backoff; ignity's run
// wrapper, spawned instead of the user's run while a restart backoff
// waits (and for funnels, s6-overlay's PWD and prefixed output), then
// execs it; the log prefixer's run execs the log-prefixer applet. See the
// README's "Restarts" section.
//
// The finish, in order:
//  1. outside a shutdown, unless keep-leftovers: the dead run's process
//     group (s6's fourth argument) gets SIGTERM, then SIGKILL after
//     IGNITY_SERVICE_LEFTOVER_GRACE ms;
//  2. an essential service that s6 still wants up, outside a shutdown:
//     the user's finish, then the container's exit status and shutdown;
//     finish exits 125, s6's "do not restart";
//  3. otherwise the death is counted: past the crash-loop limit the
//     service is marked failed (runstate's failed/NAME, and exit 125:
//     s6's permanent failure); else the backoff is decided, and run is
//     swapped for the wrapper when the next start must wait;
//  4. the user's finish, with s6's four arguments, within its own
//     timeout-finish.
package restart

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/logprefix"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"golang.org/x/sys/unix"
)

// exitPermanent is what a finish exits with to tell s6-supervise not to
// restart the service (s6's permanent failure).
const exitPermanent = 125

// ServiceProgram returns ignity's run or finish for a service dir when
// argv0 is one (s6-supervise spawns ./run and ./finish from the service
// dir, a direct child of the scandir), or nil.
func ServiceProgram(l layout.Layout, argv0 string) func(sys container.System, args []string) int {
	name := filepath.Base(argv0)
	if name != "run" && name != "finish" {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	scandir, err := filepath.EvalSymlinks(l.Scandir())
	if err != nil || filepath.Dir(wd) != scandir {
		return nil
	}
	if name == "run" && filepath.Base(wd) == logprefix.Service {
		return PrefixerRun
	}
	if name == "run" {
		return ServiceRun
	}
	return ServiceFinish
}

// ServiceFinish is ignity's finish of a service: args are s6-supervise's
// (exit code or 256, signal, service name, the dead run's process group).
// It runs in the service dir.
func ServiceFinish(sys container.System, args []string) int {
	log := console.To(sys.Stderr, 1)
	if len(args) < 3 {
		log.Error(fmt.Errorf("finish: want s6-supervise's arguments (code signal name [pgid]), got %q", args))
		return container.ExitUsage
	}
	f := &finish{sys: sys, st: sys.State(), log: log, args: args, name: args[2], now: time.Now()}
	cfg, err := f.st.Config()
	if err != nil {
		log.Error(fmt.Errorf("finish of %s: %w", f.name, err))
	}
	f.cfg = cfg
	log.SetLevel(cfg.Verbosity)
	return f.run()
}

type finish struct {
	sys  container.System
	st   runstate.State
	cfg  config.Config
	log  *console.Logger
	args []string
	name string
	now  time.Time // the death, near enough
}

func (f *finish) run() int {
	status := deathStatus(f.args[0], f.args[1])
	_, stopping := f.st.Stopping()
	wantUp, err := s6.WantedUp(".")
	if err != nil {
		f.log.Error(fmt.Errorf("finish of %s: %w", f.name, err))
	}
	if !stopping && !present(s6.KeepLeftovers) && len(f.args) > 3 {
		f.cleanup(f.args[3])
	}
	if present(s6.Essential) && wantUp && !stopping {
		return f.essential(status)
	}
	r, _, err := f.st.Restarts(f.name)
	if err != nil {
		f.log.Error(err)
	}
	r.Deaths++
	if stopping || !wantUp {
		// Told down, or the container stops: no restart to pace. A later
		// s6-svc -u starts afresh.
		r.Short, r.Delay, r.Until, r.Recent = 0, 0, time.Time{}, nil
		f.save(r, false)
		return f.userFinish()
	}
	if failed := f.count(&r); failed != "" {
		f.log.Warn("service %s %s: marked failed, not restarted (start it again with s6-svc -u %s)", f.name, failed, filepath.Join(f.sys.Layout.Scandir(), f.name))
		errs := errors.Join(f.st.MarkFailed(f.name, failed), f.save(r, false))
		if errs != nil {
			f.log.Error(errs)
		}
		f.userFinish()
		return exitPermanent
	}
	f.backoff(&r)
	if err := errors.Join(f.st.ClearFailed(f.name), f.save(r, r.Delay > 0)); err != nil {
		f.log.Error(err)
	}
	code := f.userFinish()
	if code == exitPermanent {
		return code
	}
	return 0
}

// deathStatus is the status of a dead run as a shell reports it: its
// exit code n, or 128+n when signal n killed it (s6 passes 256 and n).
func deathStatus(code, sig string) int {
	c, _ := strconv.Atoi(code)
	if c == 256 {
		s, _ := strconv.Atoi(sig)
		return 128 + s
	}
	return c
}

// essential stops the container with the service's status, after the
// user's finish, whose own status does not change that.
func (f *finish) essential(status int) int {
	f.log.Warn("essential service %s exited %d: the container stops", f.name, status)
	f.userFinish()
	_, err := f.st.SetExitStatus(status)
	err = errors.Join(err, f.st.RequestShutdown(fmt.Sprintf("essential service %s exited %d", f.name, status)))
	if err != nil {
		f.log.Error(err)
	}
	return exitPermanent
}

// count records the death in r and returns why the service failed, when
// it passed its crash-loop limit (max-deaths, else the knobs), or "".
func (f *finish) count(r *runstate.Restarts) string {
	deaths, window := f.cfg.MaxDeaths, f.cfg.DeathsWindow
	if b, err := os.ReadFile(s6.MaxDeaths); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if deaths, window, err = config.ParseMaxDeaths(line); err != nil {
			f.log.Error(fmt.Errorf("%s: %w", filepath.Join(f.sys.Layout.Scandir(), f.name, s6.MaxDeaths), err))
			deaths = 0
		}
	}
	recent := r.Recent[:0:0]
	for _, t := range r.Recent {
		if f.now.Sub(t) < window {
			recent = append(recent, t)
		}
	}
	r.Recent = append(recent, f.now)
	if len(r.Recent) > config.MaxDeathsLimit {
		r.Recent = r.Recent[len(r.Recent)-config.MaxDeathsLimit:]
	}
	if deaths > 0 && len(r.Recent) >= deaths {
		return fmt.Sprintf("died %d times within %d s (limit %d)", len(r.Recent), int(window.Seconds()), deaths)
	}
	return ""
}

// backoff decides when the next start may come: after
// IGNITY_RESTART_BACKOFF_AFTER consecutive runs shorter than
// IGNITY_RESTART_RESET, each restart waits twice as long as the last,
// counted from the death: 2 s, 4 s, ... up to IGNITY_RESTART_BACKOFF_MAX
// (s6's own pause of 1 s being the first step).
func (f *finish) backoff(r *runstate.Restarts) {
	// How long the dead run lived: since the start the last finish
	// estimated, or for a first death since ignity installed the service
	// (when it linked run.user: that inode's ctime). s6's own stamps do
	// not tell it: s6 2.13 does not reset the ready stamp of a service
	// without notification-fd at each spawn.
	lived := f.cfg.RestartReset
	switch st, err := os.Stat(s6.RunUser); {
	case !r.Start.IsZero():
		lived = f.now.Sub(r.Start)
	case err == nil:
		ts := st.Sys().(*syscall.Stat_t).Ctim
		lived = f.now.Sub(time.Unix(ts.Sec, ts.Nsec))
	default:
		f.log.Error(fmt.Errorf("finish of %s: %w", f.name, err))
	}
	var wait time.Duration
	r.Short, wait = schedule(r.Short, lived, f.cfg)
	r.Delay, r.Until = 0, time.Time{}
	if wait > 0 {
		r.Delay, r.Until = wait.Milliseconds(), f.now.Add(wait)
	}
	// s6-supervise spawns run again a second after its death, but at once
	// when the service had been ready for more than a second: taken to be
	// the case of a service with notification-fd (s6-supervise(8)).
	spawn := f.now.Add(time.Second)
	if present("notification-fd") {
		spawn = f.now
	}
	r.Spawn, r.Start = spawn, spawn
	if r.Until.After(spawn) {
		r.Start = r.Until
	}
}

// schedule is the backoff as a pure function of the count of consecutive
// short runs before this death (short), how long the dead run lived, and
// the knobs: it returns the new count (0 once a run lasted
// IGNITY_RESTART_RESET) and how long the next start waits after the
// death, 0 for s6's own pause alone. Past IGNITY_RESTART_BACKOFF_AFTER
// short runs the wait doubles from 2 s, capped at
// IGNITY_RESTART_BACKOFF_MAX (0 turns the backoff off).
func schedule(short int, lived time.Duration, cfg config.Config) (int, time.Duration) {
	if lived >= cfg.RestartReset {
		short = 0
	} else {
		short++
	}
	if cfg.BackoffMax <= 0 || short <= cfg.BackoffAfter {
		return short, 0
	}
	wait := time.Second << min(short-cfg.BackoffAfter, 20)
	return short, min(wait, cfg.BackoffMax)
}

// save records r, and sets run to the wrapper when the next start waits.
func (f *finish) save(r runstate.Restarts, wait bool) error {
	// A prefixed service's run stays ignity's, which redirects its output.
	return errors.Join(f.st.SetRestarts(f.name, r), s6.SetRunWrapped(".", f.sys.Exe, wait || logprefix.Prefixed(".") || keepWrapped(".")))
}

// cleanup stops what the dead run left in its process group pgid:
// SIGTERM (and SIGCONT), then SIGKILL after IGNITY_SERVICE_LEFTOVER_GRACE.
// Processes that left the group (setsid, setpgid) are not covered.
func (f *finish) cleanup(arg string) {
	pgid, err := strconv.Atoi(arg)
	if err != nil || pgid <= 1 {
		return
	}
	n := groupSize(pgid)
	if n == 0 {
		return
	}
	f.sys.Kill(-pgid, unix.SIGTERM)
	f.sys.Kill(-pgid, unix.SIGCONT)
	deadline := time.Now().Add(f.cfg.LeftoverGrace)
	pause := 200 * time.Microsecond
	killed := false
	for groupSize(pgid) > 0 {
		if !time.Now().Before(deadline) {
			f.sys.Kill(-pgid, unix.SIGKILL)
			killed = true
			break
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
	how := "SIGTERM"
	if killed {
		how = fmt.Sprintf("SIGKILL after IGNITY_SERVICE_LEFTOVER_GRACE=%d ms", f.cfg.LeftoverGrace.Milliseconds())
	}
	f.log.Info("service", "%s: stopped %d leftover process(es) of its process group %d (%s)", f.name, n, pgid, how)
}

// groupSize counts the live (not zombie) processes of process group pgid.
func groupSize(pgid int) int {
	pids, err := proc.Pids()
	if err != nil {
		if unix.Kill(-pgid, 0) == nil {
			return 1
		}
		return 0
	}
	n := 0
	for _, pid := range pids {
		if st, err := proc.ReadStat(pid); err == nil && st.State != 'Z' && st.PGRP == pgid {
			n++
		}
	}
	return n
}

// userFinish runs the service's own finish, if any, with s6's arguments,
// for at most its own timeout-finish, and returns its status.
func (f *finish) userFinish() int {
	if !present(s6.FinishUser) {
		return 0
	}
	bound := time.Duration(s6.DefaultTimeoutFinish) * time.Millisecond
	if b, err := os.ReadFile(s6.TimeoutFinishUser); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if n, err := strconv.ParseInt(line, 10, 64); err == nil {
			bound = time.Duration(n) * time.Millisecond
		}
	}
	c := exec.Command("./"+s6.FinishUser, f.args...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Start(); err != nil {
		f.log.Error(fmt.Errorf("finish of %s: %w", f.name, err))
		return 0
	}
	if bound > 0 {
		t := time.AfterFunc(bound, func() { c.Process.Kill() })
		defer t.Stop()
	}
	c.Wait()
	return c.ProcessState.ExitCode()
}

// ServiceRun is ignity's run wrapper, in place of a service's run while
// a restart backoff waits: it execs, with the user's run after it,
// execline's foreground on s6-svwait -t MS -D . (the service's own dir,
// its stderr to /dev/null):
// that returns only at its timeout, or once the service is down, and
// the SIGTERM s6-supervise sends when the service is told down (s6-svc
// -d, any shutdown) kills foreground at once. No Go process waits.
func ServiceRun(sys container.System, args []string) int {
	log := console.To(sys.Stderr, 1)
	name := filepath.Base(firstOr(args, "."))
	if wd, err := os.Getwd(); err == nil {
		name = filepath.Base(wd)
	}
	user := append([]string{"./" + s6.RunUser}, args...)
	r, _, err := sys.State().Restarts(name)
	if err != nil {
		log.Error(err)
	}
	if logprefix.Prefixed(".") {
		// IGNITY_LOG_PREFIX: the output goes to the prefixer's FIFOs.
		if err := logprefix.Redirect(); err != nil {
			log.Error(fmt.Errorf("run of %s: %w", name, err))
			return container.ExitSystem
		}
	}
	if err := funnelRedirect(); err != nil {
		log.Error(fmt.Errorf("run of %s: %w", name, err))
		return container.ExitSystem
	}
	setPwd()
	argv := user
	path := user[0]
	if ms := time.Until(r.Until).Milliseconds(); ms > 0 {
		log.Info("service", "%s: restart backoff: starting in %d ms", name, ms)
		path = sys.Programs.Foreground
		// s6-svwait says "fatal: timed out" at its timeout, the normal
		// end of a backoff: its stderr alone goes to /dev/null, through
		// execline's redirfd (beside foreground), a chain-loader in the
		// same process.
		redirfd := filepath.Join(filepath.Dir(sys.Programs.Foreground), "redirfd")
		argv = append([]string{"foreground", " " + redirfd, " -w", " 2", " /dev/null",
			" " + sys.Programs.Svwait, " -t", " " + strconv.FormatInt(ms, 10), " -D", " .", ""}, user...)
	}
	err = sys.Exec(path, argv, os.Environ())
	log.Error(fmt.Errorf("run of %s: exec %s: %w", name, path, err))
	return 126
}

func firstOr(a []string, def string) string {
	if len(a) > 0 {
		return a[0]
	}
	return def
}

func present(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// keepWrapped reports whether the run of the service dir dir must stay
// ignity's wrapper: it is in a funnel, or gets its PWD from it.
func keepWrapped(dir string) bool {
	return present(filepath.Join(dir, s6.FunnelIn)) || present(filepath.Join(dir, s6.FunnelOut)) || present(filepath.Join(dir, s6.PwdFile))
}

// setPwd sets PWD to the path s6.PwdFile names, in the service dir, when
// that path leads to the directory the service runs in.
func setPwd() {
	b, err := os.ReadFile(s6.PwdFile)
	if err != nil {
		return
	}
	p := string(b)
	here, err1 := os.Stat(".")
	there, err2 := os.Stat(p)
	if err1 == nil && err2 == nil && os.SameFile(here, there) {
		os.Setenv("PWD", p)
	}
}

// funnelRedirect opens, in a funnel's service dir, the FIFO onto stdin
// (the consumer) or stdout (a producer). O_RDWR never blocks, whichever
// side opens first, and the consumer never reads an end of file when a
// producer restarts: one pipe, held open, as s6-rc's.
func funnelRedirect() error {
	for fd, name := range []string{s6.FunnelIn, s6.FunnelOut} {
		if err := proc.OpenOnto(name, fd); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
	}
	return nil
}

// PrefixerRun is the run of the prefixer's service: it execs this binary
// as the log-prefixer applet on the scandir and the held services, with
// one thread for Go (it polls), so that it shows as ignity in ps.
func PrefixerRun(sys container.System, args []string) int {
	l := sys.Layout
	argv := []string{"ignity", "log-prefixer", "--", l.Scandir(), l.RunServices()}
	err := sys.Exec(sys.Exe, argv, append(os.Environ(), "GOMAXPROCS=1"))
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("%s: not found", sys.Exe)
	}
	console.To(sys.Stderr, 1).Error(fmt.Errorf("log prefixer: exec %s: %w", sys.Exe, err))
	return 126
}
