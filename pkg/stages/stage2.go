package stages

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/logprefix"
	"github.com/ignity/ignity/pkg/overlay"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
	"github.com/ignity/ignity/pkg/signals"
	"golang.org/x/sys/unix"
)

// Stage2 runs beside s6-svscan, as its child: init scripts, services,
// the optional wait, then the CMD. With a CMD it ends by exec'ing
// execline's wait on it, which then runs cmd-exit; no Go process stays
// while the CMD runs. A shutdown requested meanwhile (docker stop during
// the init scripts) stops the boot before its next step; a failure
// records its status and requests one.
func Stage2(sys container.System, cmd []string, ready *os.File) int {
	b := &stage2{sys: sys, cmd: cmd, env: os.Environ(), st: sys.State(), ready: ready}
	b.log = console.To(sys.Stderr, console.Verbosity(b.env))
	// stage3 sends SIGTERM to a stage2 still booting: caught, not fatal, so
	// that the boot stops where it is and a script being run is stopped.
	b.term = make(chan os.Signal, 1)
	signal.Notify(b.term, signals.Term)
	for _, s := range b.steps() {
		if b.stopping() {
			return 0
		}
		err := s.run()
		switch {
		case err == nil:
			continue
		case errors.Is(err, proc.ErrStopped):
			return 0
		}
		if b.stopping() {
			// The step failed because the shutdown began meanwhile (s6-svscan
			// gone from under the scan request): the shutdown decides.
			return 0
		}
		b.log.Error(err)
		code := container.ExitCode(err)
		if err := b.st.BootFailed(code); err != nil {
			b.log.Error(err)
		}
		return code
	}
	return 0
}

func (b *stage2) steps() []step {
	return []step{
		{"wait until s6-svscan is ready", b.awaitSvscan},
		{"read the boot state", b.readBoot},
		{"replay an early signal", b.replayEarly},
		{"run the stage2 hook", b.stage2Hook},
		{"apply fix-attrs.d", b.fixAttrs},
		{"copy the scripts and services into /run/ignity", b.copyTrees},
		{"take the start plan and ready its longruns", b.planServices},
		{"run the init scripts", b.initScripts},
		{"install the services", b.installServices},
		{"start the dependents as their dependencies start", b.orderedStart},
		{"wait for the services", b.waitServices},
		{"start the CMD", b.startCmd},
	}
}

// stage2 is what the steps of Stage2 share.
type stage2 struct {
	sys   container.System
	cmd   []string
	env   []string // the merged environment, from stage1, PATH as scripts get it
	image []string // the envdir's environment as read, PATH as the image has it
	cfg   config.Config
	log   *console.Logger
	st    runstate.State
	ready *os.File // s6-svscan's ready pipe, read end
	// svscanUp: s6-svscan said it is ready (see stopping).
	svscanUp bool
	term     chan os.Signal
	noexec   bool // /run/ignity is mounted noexec
	plan     services.Plan
	origin   map[string]string // a longrun's definition dir in the image, by name
	envMu    sync.Mutex        // env: oneshots run in parallel
}

// errQuiet ends stage2 without a word: whoever failed said why.
var errQuiet = fmt.Errorf("stage1 or s6-svscan failed: %w", proc.ErrStopped)

// awaitSvscan blocks until s6-svscan is ready: it writes a newline on the
// ready pipe (s6-svscan -d, see stage1's execSvscan). The pipe's end
// without one means stage1 failed, and said why, or s6-svscan could not
// start.
func (b *stage2) awaitSvscan() error {
	defer b.ready.Close()
	buf := make([]byte, 1)
	if n, _ := b.ready.Read(buf); n != 1 || buf[0] != '\n' {
		return errQuiet
	}
	b.svscanUp = true
	return nil
}

// stopping reports whether the shutdown began. Until s6-svscan is ready
// only a recorded request counts: its control FIFO has no reader yet
// between its mkfifo and its open, which would read as s6-svscan gone
// and end stage2 before the boot.
func (b *stage2) stopping() bool {
	if !b.svscanUp {
		_, ok := b.st.Requested()
		return ok
	}
	_, ok := b.st.Stopping()
	return ok
}

func (b *stage2) readBoot() error {
	cfg, err := b.st.Config()
	if err != nil {
		return err
	}
	b.cfg = cfg
	b.log.SetLevel(cfg.Verbosity)
	// IGNITY_CMD_ARG0 (S6_CMD_ARG0): words put before the CMD, the
	// ENTRYPOINT of an image moved to ignity.
	if len(cfg.CmdArg0) > 0 {
		b.cmd = append(append([]string{}, cfg.CmdArg0...), b.cmd...)
	}
	return nil
}

// replayEarly turns a terminating signal that reached /init before
// s6-svscan was ready into the shutdown it asked for.
func (b *stage2) replayEarly() error {
	if sig, ok := b.st.EarlySignal(); ok {
		if err := b.st.RequestShutdown(sig); err != nil {
			return err
		}
		return proc.ErrStopped
	}
	return nil
}

// copyTrees copies init, finalize and services from /etc/ignity, which
// ignity never modifies, into /run/ignity.
func (b *stage2) copyTrees() error {
	l := b.sys.Layout
	for _, c := range [][2]string{{l.EtcInit(), l.RunInit()}, {l.EtcFinalize(), l.RunFinalize()}, {l.EtcServices(), l.RunServices()}} {
		if err := copyDir(c[0], c[1]); err != nil {
			return err
		}
	}
	if b.noexec = s6.Noexec(l.Run()); b.noexec {
		b.log.Warn("%s is mounted noexec (docker run --tmpfs's default): running scripts and services from %s", l.Run(), l.Etc())
	}
	return nil
}

// initScripts runs the init scripts in name order. The first that fails
// fails the boot, with its status, unless the failure policy says to go
// on. docker stop meanwhile stops the running one and boots no further.
func (b *stage2) initScripts() error {
	l := b.sys.Layout
	b.log.Info("init", "Executing environment init scripts")
	for _, s := range overlay.InitScripts(execDir(b.noexec, l.RunInit(), l.EtcInit()), l) {
		if _, stopping := b.st.Stopping(); stopping {
			return proc.ErrStopped
		}
		status, err := runScript(l, s, b.env, b.cfg.InitMax, proc.WaitPid, b.term)
		var failure error
		switch {
		case errors.Is(err, proc.ErrStopped):
			return err
		case errors.Is(err, proc.ErrTimeout):
			failure = fmt.Errorf("init script %s killed after IGNITY_INIT_MAXTIME=%d ms", etcName(l, s), b.cfg.InitMax.Milliseconds())
		case err != nil:
			return container.Exit(container.ExitUsage, fmt.Errorf("init script %s: %w", etcName(l, s), err))
		case status != 0:
			failure = fmt.Errorf("init script %s exited %d", etcName(l, s), status)
		}
		if failure != nil {
			if err := container.Policy(b.cfg, b.log).FailScript(failure, status); err != nil {
				return err
			}
		}
		if err := b.reloadEnv(); err != nil {
			return err
		}
	}
	b.log.Info("init", "Environment init scripts executed")
	return nil
}

// reloadEnv re-reads the merged environment from the envdir, where an
// init script may have set, changed or removed a variable (s6-overlay's
// /run/s6/container_environment pattern): every later script, and the
// CMD, get it as it is now. Services read the envdir themselves.
func (b *stage2) reloadEnv() error {
	b.envMu.Lock()
	defer b.envMu.Unlock()
	env, err := envload.ReadDir(b.sys.Layout.RunEnvs())
	if errors.Is(err, os.ErrNotExist) {
		return nil // no envdir (a script removed it): the environment stays
	}
	if err != nil {
		return err
	}
	b.image, b.env = env, layout.ChildEnv(env)
	return nil
}

// environ is the merged environment as it is now.
func (b *stage2) environ() []string {
	b.envMu.Lock()
	defer b.envMu.Unlock()
	return b.env
}

// installServices moves every service dir into the scandir and has
// s6-svscan pick them up.
func (b *stage2) installServices() error {
	b.log.Info("service", "Starting services")
	prefixed, err := installServices(b.sys.Layout, b.cfg, b.noexec, b.sys.Exe, b.prepareUnit, b.originOf)
	if err != nil {
		return container.Exit(container.ExitUsage, err)
	}
	if err := b.startPrefixer(prefixed); err != nil {
		return err
	}
	if err := s6.Send(s6.ScanControl(b.sys.Layout.Scandir()), "a"); err != nil {
		return err
	}
	if !b.plan.HasDeps() {
		b.log.Info("service", "Services started")
	}
	return nil
}

// startPrefixer installs the log prefixer (IGNITY_LOG_PREFIX=1) as a
// service of its own, before s6-svscan starts the services: see
// installPrefixer. It finds the prefixed service dirs itself.
func (b *stage2) startPrefixer(dirs []string) error {
	if len(dirs) == 0 {
		return nil
	}
	return installPrefixer(b.sys.Layout, b.cfg, b.sys.Exe)
}

func (b *stage2) waitServices() error {
	if len(b.cmd) == 0 || !b.cfg.CmdWaitForServices {
		return nil
	}
	if err := waitServices(b.sys.Layout, b.sys.Programs, b.cfg); err != nil {
		return container.Policy(b.cfg, b.log).Fail(err, 1, container.StartingCmd)
	}
	return nil
}

// startCmd execs the CMD's waiter, execline's foreground, which runs
// cmd-start (the CMD's own process group, made the terminal's foreground
// group, recorded, then the CMD exec'd in its place) and then cmd-exit
// with the CMD's exact status in "?": foreground gives the code, or
// 256+n for a death by signal n, where wait would cap it at 128. No Go
// process stays. Without a CMD stage2 ends here, and the container runs
// until stopped.
//
// Before that it starts the waiter's watcher: withstdinas reading a pipe
// whose one write end the waiter holds (cmd-start closes it for the CMD).
// cmd-exit kills the watcher once the status is recorded; if the waiter
// dies first (killed), the pipe's end wakes the watcher, which execs
// cmd-lost: it says so and stops the container, which would otherwise
// run on with nobody waiting for its CMD.
func (b *stage2) startCmd() error {
	if len(b.cmd) == 0 {
		return nil
	}
	env, err := b.cmdEnv()
	if err != nil {
		return err
	}
	watcher, w, err := b.startWatcher()
	if err != nil {
		return err
	}
	// The waiter must outlive the shutdown's SIGTERM to every process, to
	// record the CMD's status: it ignores it. cmd-start is a Go program,
	// which installs its own handler whatever it inherits, so the CMD gets
	// SIGTERM's default back at its exec.
	signal.Ignore(signals.Term)
	fd := strconv.Itoa(int(w.Fd()))
	start := []string{b.sys.Exe, "cmd-start", fd, "--"}
	argv := []string{"foreground"}
	for _, word := range append(start, b.cmd...) {
		argv = append(argv, " "+word)
	}
	// cmd-exit runs on the stop path: with GOMAXPROCS=1 (execline's
	// export, a chain-loader in the same process) its Go runtime starts
	// the fewest threads, each a pid of the container's limit.
	export := filepath.Join(filepath.Dir(b.sys.Programs.Foreground), "export")
	argv = append(argv, "", export, "GOMAXPROCS", "1", b.sys.Exe, "cmd-exit", strconv.Itoa(watcher), "--")
	argv = append(argv, b.cmd...)
	err = b.sys.Exec(b.sys.Programs.Foreground, argv, env)
	b.sys.Kill(watcher, unix.SIGKILL)
	return fmt.Errorf("exec %s: %w", b.sys.Programs.Foreground, err)
}

// startWatcher starts the watcher of the CMD's waiter (see startCmd) and
// returns its pid and the pipe's write end, to be inherited by the
// waiter. The watcher has a process group of its own, so that a Ctrl-C
// typed at the terminal before the CMD runs does not reach it.
func (b *stage2) startWatcher() (int, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, nil, fmt.Errorf("watch the CMD's waiter: %w", err)
	}
	defer r.Close()
	argv := append([]string{"withstdinas", "IGNITY_WAITER_GONE", b.sys.Exe, "cmd-lost", strconv.Itoa(os.Getpid()), "--"}, b.cmd...)
	pid, err := proc.Spawn(b.sys.Programs.Withstdinas, argv, nil, []*os.File{r, os.Stdout, os.Stderr}, &syscall.SysProcAttr{Setpgid: true})
	if err == nil {
		_, err = unix.FcntlInt(w.Fd(), unix.F_SETFD, 0)
	}
	if err != nil {
		w.Close()
		return 0, nil, fmt.Errorf("watch the CMD's waiter: %w", err)
	}
	return pid, w, nil
}

// cmdEnv is the environment the CMD gets: the merged environment as the
// image, the env files and the init scripts left it in the envdir, with
// its PATH unchanged (ignity's own programs run execline's by their
// path), as tini would pass it on.
func (b *stage2) cmdEnv() ([]string, error) {
	if b.imageEnv() == nil {
		if err := b.reloadEnv(); err != nil {
			return nil, err
		}
	}
	image := b.imageEnv()
	if image == nil {
		// No envdir: the environment stage1 gave, without what ChildEnv added.
		return layout.ImageEnv(b.environ()), nil
	}
	return image, nil
}

func (b *stage2) imageEnv() []string {
	b.envMu.Lock()
	defer b.envMu.Unlock()
	return b.image
}

// execDir is where the scripts of a phase run from: their copy under
// /run/ignity, or the image's own when /run/ignity is mounted noexec.
func execDir(noexec bool, run, etc string) string {
	if noexec {
		return etc
	}
	return run
}

// etcName maps a copied script back to the path the user wrote.
func etcName(l layout.Layout, runPath string) string {
	rel, err := filepath.Rel(l.Run(), runPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		return l.InImage(runPath)
	}
	return l.InImage(filepath.Join(l.Etc(), rel))
}

// copyDir copies the entries of src into dst, created only when there is
// something to copy (every file created costs, and a boot counts them).
func copyDir(src, dst string) error {
	entries, err := os.ReadDir(src)
	if errors.Is(err, os.ErrNotExist) || len(entries) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, e := range confdir.Visible(entries) {
		if err := s6.CopyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return fmt.Errorf("copy %s: %w", filepath.Join(src, e.Name()), err)
		}
	}
	return nil
}

// originOf is where the service dir name comes from in the image: for a
// noexec /run/ignity, its programs run from there.
func (b *stage2) originOf(name string) string {
	if o, ok := b.origin[name]; ok {
		return o
	}
	return filepath.Join(b.sys.Layout.EtcServices(), name)
}

// installServices moves every service dir into the scandir; each must
// have a run program that can be executed. Each gets ignity's finish
// (exe, see pkg/restart): the user's finish and run keep working under
// the names s6.Wrap gives them. With IGNITY_LOG_PREFIX=1, each service
// without a log/ is made prefixed too (its run is then exe, which
// redirects its output, see restart.ServiceRun and pkg/logprefix), and its dir in
// the scandir returned. prepare(name, dir) readies a dir for the ordered
// start (pkg/order) before it goes in: a held service (one with
// dependencies) goes in down. origin names the image's copy of a service
// dir, for a noexec /run/ignity.
func installServices(l layout.Layout, cfg config.Config, noexec bool, exe string, prepare func(name, dir string) error, origin func(string) string) ([]string, error) {
	entries, err := confdir.Read(l.RunServices())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var errs []error
	var prefixed []string
	for _, e := range entries {
		src := filepath.Join(l.RunServices(), e.Name())
		if err := check.Program(l, filepath.Join(src, "run")); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", l.InImage(filepath.Join(l.EtcServices(), e.Name())), err))
			continue
		}
		if noexec {
			errs = append(errs, s6.LinkPrograms(src, origin(e.Name())))
		}
		if err := s6.Wrap(src, exe, cfg.LeftoverGrace); err != nil {
			errs = append(errs, fmt.Errorf("install service %s: %w", e.Name(), err))
			continue
		}
		if cfg.LogPrefix && !isDir(filepath.Join(src, "log")) {
			if err := logprefix.Prepare(src, exe); err != nil {
				errs = append(errs, fmt.Errorf("service %s: prefix its output (IGNITY_LOG_PREFIX=1): %w", e.Name(), err))
				continue
			}
			prefixed = append(prefixed, filepath.Join(l.Scandir(), e.Name()))
		}
		if err := prepare(e.Name(), src); err != nil {
			errs = append(errs, fmt.Errorf("install service %s: %w", e.Name(), err))
			continue
		}
		if err := s6.Install(src, l.Scandir(), e.Name(), cfg.ServicesGrace); err != nil {
			errs = append(errs, fmt.Errorf("install service %s: %w", e.Name(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return prefixed, keepServicesPath(l)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// keepServicesPath keeps /run/ignity/services/<name> naming each service
// once Install has moved it into the scandir: the directory, now empty,
// becomes a symlink to the scandir (one file, however many services), or
// when an init script left something else in it, each service gets a
// symlink of its own.
func keepServicesPath(l layout.Layout) error {
	if err := os.Remove(l.RunServices()); err == nil {
		return os.Symlink(filepath.Base(l.Scandir()), l.RunServices())
	}
	list, err := s6.List(l.Scandir())
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range list {
		if _, err := os.Lstat(filepath.Join(l.RunServices(), s.Name)); errors.Is(err, os.ErrNotExist) {
			errs = append(errs, os.Symlink(filepath.Join("..", filepath.Base(l.Scandir()), s.Name), filepath.Join(l.RunServices(), s.Name)))
		}
	}
	return errors.Join(errs...)
}

// waitServices waits until every service not marked down is up, or ready
// when it declares notification-fd, within IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME.
// s6-svwait fails on a service whose s6-supervise has not yet written its
// status file, and the scan request returns before that: wait for the
// supervisors first (s6.Supervised).
func waitServices(l layout.Layout, progs layout.Programs, cfg config.Config) error {
	deadline := time.Now().Add(cfg.CmdWaitMax)
	if cfg.CmdWaitMax == 0 {
		deadline = time.Now().Add(100 * 365 * 24 * time.Hour)
	}
	list, err := s6.List(l.Scandir())
	if err != nil {
		return err
	}
	var dirs, up, ready []string
	for _, s := range list {
		if s.Down {
			continue
		}
		dirs = append(dirs, s.Dir)
		if s.Notify {
			ready = append(ready, s.Dir)
		} else {
			up = append(up, s.Dir)
		}
	}
	if left := s6.WaitSupervised(dirs, deadline); len(left) > 0 {
		return fmt.Errorf("services not supervised after %v: %s", cfg.CmdWaitMax, strings.Join(left, ", "))
	}
	for _, set := range []struct {
		flag string
		dirs []string
	}{{"-u", up}, {"-U", ready}} {
		if len(set.dirs) == 0 {
			continue
		}
		ms := "0"
		if cfg.CmdWaitMax > 0 {
			ms = strconv.FormatInt(max(time.Until(deadline).Milliseconds(), 1), 10)
		}
		c := exec.Command(progs.Svwait, append([]string{set.flag, "-t", ms}, set.dirs...)...)
		c.Stderr = os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("services not up within IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=%d: %s", cfg.CmdWaitMax.Milliseconds(), strings.Join(notUp(progs, set.dirs, set.flag == "-U"), ", "))
		}
	}
	return nil
}

// notUp names the services of dirs that are not up (or not ready).
func notUp(progs layout.Programs, dirs []string, ready bool) []string {
	var out []string
	for _, d := range dirs {
		b, err := exec.Command(progs.Svstat, "-o", "up,ready", d).Output()
		f := strings.Fields(string(b))
		if err != nil || len(f) != 2 || f[0] != "true" || (ready && f[1] != "true") {
			out = append(out, filepath.Base(d))
		}
	}
	return out
}
