// Package order is the dependency-ordered start of the services (README
// "Dependencies"), which stage2 runs once every longrun is in the
// scandir. The start is planned once per boot (pkg/services), by /init
// from every service definition, and again by stage2 after its hook,
// before the init scripts run; the ordered start gets the plan as a
// value (Start.Plan). Every longrun goes into the scandir at once, as
// in s6-overlay (s6-svc works on each from the first moment): those
// without dependencies start, each dependent is held down
// (a down file of ignity's, marked by HeldMark) until each of its
// dependencies counts as started: a longrun once up (ready, with
// notification-fd), a oneshot once its up exited 0. Then it is told up.
//
// One goroutine per unit waits for its dependencies' channels; each
// longrun is watched by an s6-svwait process until up, bounded by its
// timeout-up or IGNITY_SERVICES_READY_MAXTIME. s6-svwait waits for an
// event, so awaitUp also reads the service's state before it and again
// after each second s6-svwait waits in vain (a permanent failure or a
// service taken down is no event for it). The CMD starts once every unit
// has started.
package order

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/execline"
	"github.com/ignity/ignity/pkg/fileerr"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
	"golang.org/x/sys/unix"
)

// HeldMark, in a longrun's dir, marks its down file as ignity's: the
// longrun waits for its dependencies, and goes up once they have started.
const HeldMark = ".ignity-held"

// Start is one ordered start: the plan, and what its units need from
// stage2.
type Start struct {
	Sys  container.System
	Cfg  config.Config
	St   runstate.State
	Log  *console.Logger
	Plan services.Plan
	Cmd  []string         // the CMD, which waits for the start
	Term <-chan os.Signal // stage2's SIGTERM: the start stops
	// Environ is the merged environment as it is now, which a oneshot
	// gets; ReloadEnv re-reads the envdir after one ran.
	Environ   func() []string
	ReloadEnv func() error
}

// Run starts the held units as their dependencies start, and
// returns once every unit has started; with a CMD, within
// IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME. The first failure (a dependency
// not up in time, failed for good, a oneshot's up failing) fails the boot
// with a message naming it, unless the failure policy says to go on:
// then its dependents start anyway.
func (b *Start) Run() error {
	if !b.Plan.HasDeps() {
		return nil
	}
	o := &order{b: b, done: map[string]chan struct{}{}, failed: map[string]bool{}, awaited: map[string]bool{},
		stop: make(chan os.Signal), failures: make(chan error, len(b.Plan.Units))}
	go func() {
		<-b.Term
		close(o.stop)
	}()
	for _, u := range b.Plan.Units {
		o.done[u.Name] = make(chan struct{})
		// Every longrun: the CMD starts once all are up, as s6-overlay's
		// does once its bundles are.
		o.awaited[u.Name] = u.Type == services.Longrun
	}
	if err := b.supervised(); err != nil {
		return err
	}
	for _, u := range b.Plan.Units {
		go o.run(u)
	}
	all := make(chan struct{})
	go func() {
		for _, u := range b.Plan.Units {
			<-o.done[u.Name]
		}
		close(all)
	}()
	var bound <-chan time.Time
	if len(b.Cmd) > 0 && b.Cfg.CmdWaitMax > 0 {
		t := time.NewTimer(b.Cfg.CmdWaitMax)
		defer t.Stop()
		bound = t.C
	}
	select {
	case <-all:
		b.Log.Info("service", "Services started")
		return nil
	case err := <-o.failures:
		return err
	case <-o.stop:
		return proc.ErrStopped
	case <-bound:
		err := fmt.Errorf("services not started within IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=%d ms: %s", b.Cfg.CmdWaitMax.Milliseconds(), o.pending())
		return container.Policy(b.Cfg, b.Log).Fail(err, 1, container.StartingCmd)
	}
}

// supervised waits until an s6-supervise watches every longrun of the
// scandir, before any unit runs: as under s6-overlay, whose supervisors
// all run before the first oneshot, a oneshot's s6-svc on a held longrun
// finds its supervise/ directory (s6-svscan starts them on the scan
// request, which returns before they have made it).
func (b *Start) supervised() error {
	var dirs []string
	for _, u := range b.Plan.Units {
		dir := filepath.Join(b.Sys.Layout.Scandir(), u.Name)
		if u.Type == services.Longrun && present(dir) {
			dirs = append(dirs, dir)
		}
	}
	deadline := time.Now().Add(100 * 365 * 24 * time.Hour)
	if b.Cfg.ReadyMax > 0 {
		deadline = time.Now().Add(b.Cfg.ReadyMax)
	}
	if left := s6.WaitSupervised(dirs, deadline); len(left) > 0 {
		return fmt.Errorf("services not supervised within IGNITY_SERVICES_READY_MAXTIME=%d ms: %s", b.Cfg.ReadyMax.Milliseconds(), strings.Join(left, ", "))
	}
	return nil
}

// order is one ordered start.
type order struct {
	b        *Start
	done     map[string]chan struct{} // closed once the unit started or failed
	mu       sync.Mutex
	failed   map[string]bool
	awaited  map[string]bool // longruns watched until up (ready)
	stop     chan os.Signal  // closed when stage2 gets SIGTERM
	failures chan error
}

var errDepFailed = errors.New("a dependency failed")

// run starts u once its dependencies have, and closes its channel.
// Its failure is reported once, by itself; its dependents then give up
// quietly (errDepFailed), unless the failure policy says to go on: then
// it counts as started and they start anyway.
func (o *order) run(u services.Unit) {
	defer close(o.done[u.Name])
	err := o.start(u)
	switch {
	case err == nil, errors.Is(err, proc.ErrStopped):
		return
	case errors.Is(err, errDepFailed):
		o.markFailed(u.Name)
		return
	}
	if e := o.b.St.SetUnit(u.Name, runstate.UnitFailed, err.Error()); e != nil {
		o.b.Log.Error(e)
	}
	if err := container.Policy(o.b.Cfg, o.b.Log).Fail(err, 1, container.Continuing); err != nil {
		o.markFailed(u.Name)
		o.failures <- err
	}
}

func (o *order) markFailed(name string) {
	o.mu.Lock()
	o.failed[name] = true
	o.mu.Unlock()
}

func (o *order) start(u services.Unit) error {
	for _, d := range u.Deps {
		select {
		case <-o.done[d]:
		case <-o.stop:
			return proc.ErrStopped
		}
		o.mu.Lock()
		bad := o.failed[d]
		o.mu.Unlock()
		if bad {
			return errDepFailed
		}
	}
	if u.Type == services.Oneshot {
		return o.oneshot(u)
	}
	told := false
	if len(u.Deps) > 0 {
		var err error
		if told, err = o.release(u.Name); err != nil {
			return err
		}
		o.b.Log.Debug("service", "%s: its dependencies started (%s): told up", u.Name, strings.Join(u.Deps, ", "))
	}
	if o.awaited[u.Name] {
		if err := o.awaitUp(u, told); err != nil {
			return err
		}
	}
	return o.b.St.SetUnit(u.Name, runstate.UnitStarted, "")
}

// release tells the held longrun name up, once s6-supervise watches it:
// its down file (ignity's) goes, and "u" is sent. A down file of the
// image's or an init script's keeps it down (told is false).
func (o *order) release(name string) (told bool, err error) {
	dir := filepath.Join(o.b.Sys.Layout.Scandir(), name)
	if !present(filepath.Join(dir, HeldMark)) {
		return false, nil
	}
	deadline := time.Now().Add(o.b.Cfg.ReadyMax)
	if o.b.Cfg.ReadyMax == 0 {
		deadline = time.Now().Add(100 * 365 * 24 * time.Hour)
	}
	if left := s6.WaitSupervised([]string{dir}, deadline); len(left) > 0 {
		return false, fmt.Errorf("service %s not supervised within IGNITY_SERVICES_READY_MAXTIME=%d ms", name, o.b.Cfg.ReadyMax.Milliseconds())
	}
	if err := errors.Join(os.Remove(filepath.Join(dir, "down")), os.Remove(filepath.Join(dir, HeldMark))); err != nil {
		return false, fmt.Errorf("start service %s: %w", name, err)
	}
	if err := s6.Send(s6.Control(dir), "u"); err != nil {
		return false, fmt.Errorf("start service %s: %w", name, err)
	}
	return true, nil
}

// awaitUp waits until the longrun u is up, or ready when it has
// notification-fd, within its timeout-up, else
// IGNITY_SERVICES_READY_MAXTIME (0: no limit), through s6-svwait.
//
// told: the service was just told up, which s6-supervise may not have
// read yet: its "want up" is not read before the first wait.
func (o *order) awaitUp(u services.Unit, told bool) error {
	b := o.b
	dir := filepath.Join(b.Sys.Layout.Scandir(), u.Name)
	bound, what := u.TimeoutUp, fmt.Sprintf("its timeout-up (%s/timeout-up: %d ms)", u.Dir, u.TimeoutUp.Milliseconds())
	if bound == services.NoTimeout {
		bound, what = b.Cfg.ReadyMax, fmt.Sprintf("IGNITY_SERVICES_READY_MAXTIME=%d ms", b.Cfg.ReadyMax.Milliseconds())
	}
	deadline := time.Now().Add(100 * 365 * 24 * time.Hour)
	if bound > 0 {
		deadline = time.Now().Add(bound)
	}
	state, flag := "up", "-u"
	if u.Notify {
		state, flag = "ready", "-U"
	}
	waiters := o.dependents(u.Name)
	if left := s6.WaitSupervised([]string{dir}, deadline); len(left) > 0 {
		return fmt.Errorf("dependency %s (of %s) not supervised within %s", u.Name, waiters, what)
	}
	// s6-svwait waits for an event: a permanent failure that came before
	// it listened (a service that fails at once) is no event for it, and
	// neither is a service taken down. So the state is read first, and
	// again each second s6-svwait waits in vain.
	var code int
	for first := true; ; first = false {
		if c := b.St.Condition(u.Name, dir, time.Now()); c.Supervised() && !c.Status.WantUp && !(first && told) {
			code = 1
			break
		}
		slice := time.Second
		if bound > 0 {
			slice = min(slice, max(time.Until(deadline), time.Millisecond))
		}
		var err error
		code, err = o.svwait(flag, slice, dir)
		if err != nil {
			return err
		}
		if code != 99 || (bound > 0 && !time.Now().Before(deadline)) {
			break
		}
	}
	switch {
	case code == 0:
		return nil
	case code == 99:
		return fmt.Errorf("dependency %s (of %s) not %s within %s", u.Name, waiters, state, what)
	case code == 102:
		return fmt.Errorf("dependency %s (of %s): its s6-supervise died", u.Name, waiters)
	case code >= 100:
		return fmt.Errorf("dependency %s (of %s): %s exited %d", u.Name, waiters, b.Sys.Programs.Svwait, code)
	}
	switch c := b.St.Condition(u.Name, dir, time.Now()); {
	case c.Failed:
		return fmt.Errorf("dependency %s (of %s) failed permanently before it was %s: %s", u.Name, waiters, state, c.Why)
	case code == 1 && present(filepath.Join(dir, "down")):
		return fmt.Errorf("dependency %s (of %s) has a down file: it does not start, so neither does what needs it", u.Name, waiters)
	}
	return fmt.Errorf("dependency %s (of %s) failed permanently, or was taken down, before it was %s", u.Name, waiters, state)
}

// svwait runs s6-svwait FLAG -t SLICE DIR and returns its exit code;
// docker stop meanwhile stops it (proc.ErrStopped).
func (o *order) svwait(flag string, slice time.Duration, dir string) (int, error) {
	c := exec.Command(o.b.Sys.Programs.Svwait, flag, "-t", strconv.FormatInt(slice.Milliseconds(), 10), dir)
	if err := c.Start(); err != nil {
		return 0, fmt.Errorf("wait for %s: %w", filepath.Base(dir), err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	var err error
	select {
	case err = <-exited:
	case <-o.stop:
		c.Process.Signal(unix.SIGTERM)
		<-exited
		return 0, proc.ErrStopped
	}
	if err == nil {
		return 0, nil
	}
	if code := c.ProcessState.ExitCode(); code >= 0 {
		return code, nil
	}
	return 0, fmt.Errorf("wait for %s: %w", filepath.Base(dir), err)
}

// dependents names the units that wait for name.
func (o *order) dependents(name string) string {
	var out []string
	for _, u := range o.b.Plan.Units {
		for _, d := range u.Deps {
			if d == name {
				out = append(out, u.Name)
			}
		}
	}
	return strings.Join(out, ", ")
}

// oneshot runs u's up line with execlineb -P -c, with the merged
// environment as it is now, within its timeout-up (else
// IGNITY_SERVICES_READY_MAXTIME), then re-reads the envdir: what it
// wrote there reaches every later unit and the CMD. An up line that is
// only comments does nothing.
func (o *order) oneshot(u services.Unit) error {
	b := o.b
	words, err := execline.Lex(u.Up)
	if err != nil {
		var le *fileerr.Error
		if errors.As(err, &le) {
			return &fileerr.Error{File: u.UpFrom, Line: le.Line, Err: le.Err}
		}
		return fmt.Errorf("%s: %w", u.UpFrom, err)
	}
	if _, ok := execline.Program(words); !ok {
		return b.St.SetUnit(u.Name, runstate.UnitStarted, "")
	}
	if err := b.St.SetUnit(u.Name, runstate.UnitRunning, ""); err != nil {
		return err
	}
	bound, what := u.TimeoutUp, fmt.Sprintf("its timeout-up (%s/timeout-up: %d ms)", u.Dir, u.TimeoutUp.Milliseconds())
	if bound == services.NoTimeout {
		bound, what = b.Cfg.ReadyMax, fmt.Sprintf("IGNITY_SERVICES_READY_MAXTIME=%d ms", b.Cfg.ReadyMax.Milliseconds())
	}
	b.Log.Debug("service", "oneshot %s: running %s", u.Name, u.UpFrom)
	status, err := proc.Run([]string{b.Sys.Programs.Execlineb, "-P", "-c", u.Up}, b.Environ(), bound, proc.WaitPid, o.stop)
	switch {
	case errors.Is(err, proc.ErrStopped):
		return err
	case errors.Is(err, proc.ErrTimeout):
		return fmt.Errorf("oneshot %s: %s killed after %s", u.Name, u.UpFrom, what)
	case err != nil:
		return fmt.Errorf("oneshot %s: %s: %w", u.Name, u.UpFrom, err)
	case status != 0:
		return fmt.Errorf("oneshot %s: %s exited %d", u.Name, u.UpFrom, status)
	}
	if err := b.ReloadEnv(); err != nil {
		return err
	}
	return b.St.SetUnit(u.Name, runstate.UnitStarted, "")
}

// pending names the units not started yet, each with the dependencies it
// still waits for: "a (waits for b), b (waits for c)".
func (o *order) pending() string {
	var out []string
	for _, u := range o.b.Plan.Units {
		select {
		case <-o.done[u.Name]:
			continue
		default:
		}
		var waits []string
		for _, d := range u.Deps {
			select {
			case <-o.done[d]:
			default:
				waits = append(waits, d)
			}
		}
		if len(waits) > 0 {
			out = append(out, fmt.Sprintf("%s (waits for %s)", u.Name, strings.Join(waits, ", ")))
		} else {
			out = append(out, u.Name)
		}
	}
	return strings.Join(out, ", ")
}

func present(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
