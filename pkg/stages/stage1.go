package stages

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/overlay"
	"github.com/ignity/ignity/pkg/perms"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/services"
	"github.com/ignity/ignity/pkg/signals"
	earlysig "github.com/ignity/ignity/pkg/stages/early"
	"golang.org/x/sys/unix"
)

// Stage1 is /init: it loads the environment, applies the perms, rebuilds
// /run/ignity, starts stage2 and execs s6-svscan. It returns only on
// failure, with the exit code.
func Stage1(sys container.System, cmd []string) int {
	b := &stage1{sys: sys, cmd: cmd, env: os.Environ(), st: sys.State()}
	b.log = console.To(sys.Stderr, console.Verbosity(b.env))
	b.early = catchEarly(b.log)
	// Only a failure returns: the last step execs s6-svscan.
	err := runSteps(b.steps())
	if err == nil {
		return 0
	}
	b.log.Error(err)
	return container.ExitCode(err)
}

func (b *stage1) steps() []step {
	return []step{
		{"become a subreaper unless PID 1", b.subreaper},
		{"give scripts /bin/execlineb", b.execlineb},
		{"check the configuration", b.check},
		{"load the env files", b.loadEnv},
		{"reset /run/ignity", b.resetRun},
		{"make s6-overlay's paths", b.compatPaths},
		{"start stage2", b.startStage2},
		{"record the boot state", b.recordBoot},
		{"write the envdir", b.writeEnvdir},
		{"apply the perms", b.perms},
		{"warn when a stop may outlast docker stop", b.stopBound},
		{"seed the scandir", b.seedScandir},
		{"hand the early signals over", b.handOver},
		{"exec s6-svscan", b.execSvscan},
	}
}

// stage1 is what the steps of Stage1 share.
type stage1 struct {
	sys     container.System
	cmd     []string
	env     []string // the container's environment
	merged  []string // over the env files
	cfg     config.Config
	log     *console.Logger
	st      runstate.State
	early   *early
	overlay bool          // the image uses s6-overlay's layout
	plan    services.Plan // the start plan check made
	stage2  int           // pid
	ready   *os.File      // write end of s6-svscan's ready pipe
}

func (b *stage1) subreaper() error {
	if os.Getpid() == 1 {
		return nil
	}
	// Orphans of our services must come back to us, not to the real PID 1
	// of a namespace we share.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become a child subreaper: %w", err)
	}
	b.log.Warn("running as pid %d, not PID 1 (docker run --init, a shared pid namespace?): reaping as a child subreaper and signalling only ignity's own processes", os.Getpid())
	return nil
}

// execlineb gives scripts their #!/bin/execlineb where the image's /bin
// is a real directory without it (busybox, older distributions) and the
// tarball was only extracted, not installed. A copy of /usr/bin/execlineb,
// never a symlink: once such an image is usrmerged, a symlink there would
// name itself. The tarball ships nothing under bin/ (that would replace a
// /bin -> usr/bin symlink). Where the root is read-only this cannot be
// done, and the check after this step names every program that needs it.
func (b *stage1) execlineb() error {
	bin := b.sys.Layout.Bin()
	if st, err := os.Lstat(bin); err != nil || !st.IsDir() {
		return nil // usrmerged: /bin/execlineb is /usr/bin/execlineb
	}
	dst := filepath.Join(bin, "execlineb")
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	prog, err := os.ReadFile(filepath.Join(b.sys.Layout.Root, b.sys.Programs.Execlineb))
	if err != nil {
		return nil // not installed: the check says so
	}
	tmp := filepath.Join(bin, ".execlineb.ignity")
	if err := os.WriteFile(tmp, prog, 0o755); err != nil {
		b.log.Debug("init", "cannot create /bin/execlineb: %v", err)
		return nil
	}
	err = os.Chmod(tmp, 0o755)
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		b.log.Debug("init", "cannot create /bin/execlineb: %v", err)
	}
	return nil
}

// check runs the checks of `ignity check`, but an unknown IGNITY_* name is
// only a warning here: the container still starts.
func (b *stage1) check() error {
	found, plan := check.RunPlan(b.sys.Layout, b.env, false)
	b.plan = plan
	for _, p := range found {
		if p.Severity == check.Error {
			b.log.Error(errors.New(p.Text()))
		} else {
			b.log.Warn("%s", p.Text())
		}
	}
	if check.HasError(found) {
		return container.Exit(container.ExitUsage, errors.New("the configuration has errors (listed above): the container does not start; run `ignity check` at build time to catch them"))
	}
	return nil
}

func (b *stage1) loadEnv() error {
	b.log.Info("env", "Loading environment files")
	vars, err := envload.LoadDir(b.sys.Layout.EtcEnvs())
	if err != nil {
		return container.Exit(container.ExitUsage, err)
	}
	merged, problems := envload.Check(envload.Merge(vars, b.env))
	for _, p := range problems {
		b.log.Warn("%v (skipped)", p)
	}
	if b.cfg, b.overlay, err = overlay.ParseConfig(b.sys.Layout, merged, b.log); err != nil {
		return container.Exit(container.ExitUsage, err)
	}
	b.merged = merged
	return nil
}

// resetRun empties /run/ignity, which may hold a previous run's state
// (docker restart keeps the container's filesystem) or anything another
// uid put there (os.RemoveAll removes symlinks, never follows them), and
// recreates its directories: first the private state directory, which
// nothing found at boot can be. /run/ignity itself may be a mount point:
// it is kept.
func (b *stage1) resetRun() error {
	run := b.sys.Layout.Run()
	err := os.MkdirAll(run, 0o755)
	var entries []os.DirEntry
	if err == nil {
		b.stickRun(run)
		entries, err = os.ReadDir(run)
	}
	for _, e := range entries {
		if err == nil {
			err = os.RemoveAll(filepath.Join(run, e.Name()))
		}
	}
	if err == nil {
		err = b.st.Create(b.cfg.CmdStopSignal)
	}
	// The scandir is a link to where it really is: see layout.Servicedirs.
	if err == nil {
		err = os.Mkdir(b.sys.Layout.Servicedirs(), 0o755)
	}
	if err == nil {
		err = os.Symlink(filepath.Base(b.sys.Layout.Servicedirs()), b.sys.Layout.Scandir())
	}
	if err == nil {
		err = os.MkdirAll(b.sys.Layout.SvscanDir(), 0o755)
	}
	if err != nil {
		return fmt.Errorf("%w\n%s must be writable: with a read-only root, mount a tmpfs there (docker run --read-only --tmpfs %s)", err, run, run)
	}
	return nil
}

// stickRun sets the sticky bit of /run/ignity when other uids may write
// it (1777 under docker run --tmpfs, 0777 as a Kubernetes emptyDir, 0775
// root:0 as older installers made it) and this process may change its mode: then
// no other uid can remove or rename the entries /init makes there, as in
// /tmp. Where it cannot (a non-root /init in a directory root owns), the
// private state directory still refuses what another uid made.
func (b *stage1) stickRun(run string) {
	fi, err := os.Stat(run)
	if err != nil || fi.Mode().Perm()&0o022 == 0 || fi.Mode()&os.ModeSticky != 0 {
		return
	}
	if err := os.Chmod(run, fi.Mode().Perm()|os.ModeSticky); err != nil {
		b.log.Debug("init", "%s (mode %#o) is writable by other uids and its sticky bit cannot be set: %v", run, fi.Mode().Perm(), err)
	}
}

// startStage2 starts stage2 now, so that its runtime comes up while this
// process writes the envdir, applies the perms and seeds the scandir. Its
// fd 3 is the read end of a pipe whose write end s6-svscan gets (-d): it
// waits there until s6-svscan is ready (see awaitSvscan).
func (b *stage1) startStage2() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start stage2: %w", err)
	}
	defer r.Close()
	argv := append([]string{filepath.Base(b.sys.Exe), "stage2", "--"}, b.cmd...)
	pid, err := proc.Spawn(b.sys.Exe, argv, layout.ChildEnv(b.merged), []*os.File{os.Stdin, os.Stdout, os.Stderr, r}, nil)
	if err != nil {
		w.Close()
		return fmt.Errorf("start stage2: %w", err)
	}
	b.stage2, b.ready = pid, w
	return nil
}

// recordBoot records, for every later process, s6-svscan's pid (this
// one's: exec keeps it), stage2's, the knobs and the start plan: the
// definitions are read once per boot, here, and again only after a
// stage2 hook (see planServices).
func (b *stage1) recordBoot() error {
	if err := b.st.WriteBoot(runstate.Boot{Svscan: os.Getpid(), Stage2: b.stage2, Knobs: config.Knobs(b.merged, b.overlay)}); err != nil {
		return err
	}
	return b.st.SetPlan(b.plan)
}

func (b *stage1) writeEnvdir() error {
	if err := envload.WriteDir(b.sys.Layout.RunEnvs(), b.merged); err != nil {
		return err
	}
	b.log.Info("env", "Environment files loaded")
	return nil
}

// perms applies /etc/ignity/perms: a bad file stops the container with
// container.ExitUsage, a fix not made does too under the failure policy.
func (b *stage1) perms() error {
	if b.cfg.SkipPerms {
		return nil
	}
	err := perms.Preboot(b.sys.Layout, b.cfg, b.log)
	var apply *perms.ApplyError
	if errors.As(err, &apply) {
		return container.Policy(b.cfg, b.log).Fail(err, container.ExitUsage, container.Continuing)
	}
	if err != nil {
		return container.Exit(container.ExitUsage, err)
	}
	return nil
}

func (b *stage1) stopBound() error {
	n := overlay.FinalizeCount(b.sys.Layout) + b.plan.DownLines()
	// Only where the defaults go past docker stop's wait (too many
	// finalize scripts): a grace set long on purpose is ignity check's to say.
	if bound := b.cfg.StopBound(n); bound > 10*time.Second && config.DefaultFor(b.overlay).StopBound(n) > 10*time.Second {
		b.log.Warn("a shutdown may take up to %v (IGNITY_SERVICES_GRACETIME, IGNITY_KILL_FINALIZE_MAXTIME x %d finalize and cont-finish.d scripts and oneshot down lines, IGNITY_KILL_GRACETIME): more than docker stop's default 10 s; raise it with docker stop -t", bound, n)
	}
	return nil
}

// seedScandir installs s6-svscan's control files as links to this binary,
// which recognizes them by name (package sighandler, and cmd/ignity-init
// for stage3): the diverted signals' handlers (signals.Diverted), and
// finish and crash, stage3. Symlinks rather than scripts: exec resolves
// them to the binary's own filesystem, so they work when /run/ignity is a
// noexec tmpfs (docker run --tmpfs's default), and cost one exec, no
// interpreter. One symlink, hard-linked under the other names: a link is
// a directory entry, not a new inode.
//
// SIGTERM's handler (the Stop role's) is no Go process but the tarball's execline script
// (layout.Programs.StopHandler), linked the same way: one pid and one
// thread, which tells s6-svscan to exec stage3 through its control FIFO.
// A stop then needs no spare thread before stage3, itself exec'd by PID 1.
//
// finish and crash are the tarball's stage3 script (Programs.Stage3),
// which execs ignity stage3 with GOMAXPROCS=1: the Go runtime then starts
// one thread beside PID 1's, not one more per idle CPU, and each takes a
// pid of the container's limit. Without one (tests), the binary.
func (b *stage1) seedScandir() error {
	dir := b.sys.Layout.SvscanDir()
	stage3 := b.sys.Programs.Stage3
	if stage3 == "" {
		stage3 = b.sys.Exe
	}
	finish := filepath.Join(dir, "finish")
	errs := []error{os.Symlink(stage3, finish), os.Link(finish, filepath.Join(dir, "crash"))}
	first := ""
	for _, e := range signals.Diverted() {
		name := filepath.Join(dir, e.Name)
		switch {
		case e.Role == signals.Stop:
			errs = append(errs, os.Symlink(b.sys.Programs.StopHandler, name))
		case first == "":
			if err := os.Symlink(b.sys.Exe, name); err != nil {
				return err
			}
			first = name
		default:
			errs = append(errs, os.Link(first, name))
		}
	}
	return errors.Join(errs...)
}

// handOver records the first terminating signal caught so far, which
// stage2 turns into a shutdown request once s6-svscan is ready. A signal
// from here until s6-svscan has set up its own handling is lost: s6-svscan
// starts by clearing its signal mask, and PID 1 drops a signal it has no
// handler for. A window of about a millisecond, inherent to exec'ing
// s6-svscan; see the README.
func (b *stage1) handOver() error {
	if sig := b.early.terminating(); sig != 0 {
		return b.st.SetEarlySignal(sig)
	}
	return nil
}

// execSvscan becomes s6-svscan, with stdin from /dev/null (only the CMD
// reads the container's) and the ready pipe as -d: s6-svscan writes a
// newline there once it traps signals and reads its control FIFO,
// stage2's go-ahead. The FIFO alone is not enough: s6-svscan opens it
// before it traps signals, and a SIGTERM in between would be lost.
func (b *stage1) execSvscan() error {
	if null, err := unix.Open("/dev/null", unix.O_RDONLY, 0); err == nil {
		unix.Dup2(null, 0)
		unix.Close(null)
	}
	fd := b.ready.Fd()
	if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
		return fmt.Errorf("hand the ready pipe to s6-svscan: %w", err)
	}
	argv := []string{"s6-svscan", "-d", strconv.Itoa(int(fd)), "-C", strconv.Itoa(scanMax(b.sys.Layout.EtcServices())), b.sys.Layout.Scandir()}
	err := b.sys.Exec(b.sys.Programs.Svscan, argv, overlay.SvscanEnv(b.cfg, b.env, b.merged))
	// stage2 reads the pipe's end and stops, quietly: this says why.
	b.ready.Close()
	return fmt.Errorf("exec %s: %w", b.sys.Programs.Svscan, err)
}

// scanMax is s6-svscan's -C (s6 2.12 on; -c is deprecated): the number
// of service dirs it supervises, loggers included. s6-svscan keeps about
// 340 bytes of memory per slot, and its default of 1000 costs some 300 KiB
// of a container's memory for services it will never have: ignity asks
// for room for every service of the image, logged, and at least
// minScanSlots for services added to the scandir at run time.
func scanMax(services string) int {
	entries, _ := os.ReadDir(services)
	return max(minScanSlots, 2*len(entries)+10)
}

// minScanSlots is the least -C ignity passes (see scanMax).
const minScanSlots = 256

// early collects the signals that reach /init before it execs s6-svscan.
type early struct {
	mu    sync.Mutex
	first unix.Signal // the first terminating signal, 0 if none yet
}

// catchEarly reads the signals taken since the process's first init
// function (package early), or takes them now when it took none (tests).
//
// Before s6-svscan is ready, Go's default for most of them would exit,
// which as PID 1 would end the container half-started. A terminating one
// (role Stop or Interrupt: no CMD runs yet) starts the normal shutdown
// once s6-svscan is ready, whatever came before or after it; the others
// mean nothing before a CMD runs and are dropped.
func catchEarly(log *console.Logger) *early {
	e := &early{}
	c := earlysig.Signals()
	if c == nil {
		c = make(chan os.Signal, 16)
		signal.Notify(c, signals.Caught()...)
	}
	go func() {
		for s := range c {
			e.receive(s.(unix.Signal), log)
		}
	}()
	return e
}

func (e *early) receive(sig unix.Signal, log *console.Logger) {
	if r := signals.RoleOf(sig); r == signals.Stop || r == signals.Interrupt {
		e.mu.Lock()
		if e.first == 0 {
			e.first = sig
		}
		e.mu.Unlock()
		log.Debug("signal", "%s during the boot: the shutdown starts once s6-svscan is ready", unix.SignalName(sig))
		return
	}
	log.Debug("signal", "%s before s6-svscan is ready: dropped", unix.SignalName(sig))
}

func (e *early) terminating() unix.Signal {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.first
}
