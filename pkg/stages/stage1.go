package stages

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ignity/ignity/pkg/check"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/proc"
	"golang.org/x/sys/unix"
)

// earlySignals are the signals that may reach /init before s6-svscan runs.
// Go's default for most of them is to exit, which as PID 1 would end the
// container half-started; they are caught and replayed to s6-svscan.
var earlySignals = []os.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2}

// Stage1 is /init: it loads the environment, applies the perms, rebuilds
// /run/ignity, starts stage2 and execs s6-svscan. It returns only on
// failure, with the exit code.
func Stage1(l layout.Layout, exe string, cmd []string) int {
	early := make(chan os.Signal, 8)
	signal.Notify(early, earlySignals...)

	env := os.Environ()
	log := newLogger(verbosity(env))
	if os.Getpid() != 1 {
		// Orphans of our services must come back to us, not to the real
		// PID 1 of a namespace we share.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			log.error(fmt.Errorf("become a child subreaper: %w", err))
			return ExitSystem
		}
		log.warn("running as pid %d, not PID 1 (docker run --init, a shared pid namespace?): reaping as a child subreaper and signalling only ignity's own processes", os.Getpid())
	}

	// The same checks as `ignity check`, but an unknown IGNITY_* name is
	// only a warning here: the container still starts.
	found := check.Run(l, env, false)
	for _, p := range found {
		fmt.Fprintf(os.Stderr, "ignity: %s\n", p)
	}
	if check.HasError(found) {
		log.error(errors.New("the configuration has errors (listed above): the container does not start; run `ignity check` at build time to catch them"))
		return ExitUsage
	}

	log.info("env", "Loading environment files")
	vars, err := envload.LoadDir(l.EtcEnvs())
	if err != nil {
		log.error(err)
		return ExitUsage
	}
	merged, problems := envload.Check(envload.Merge(vars, env))
	for _, p := range problems {
		log.warn("%v (skipped)", p)
	}
	cfg, err := config.Parse(merged)
	if err != nil {
		log.error(err)
		return ExitUsage
	}
	log.level = cfg.Verbosity

	if err := resetRun(l); err != nil {
		log.error(fmt.Errorf("%w\n%s must be writable: with a read-only root, mount a tmpfs there (docker run --read-only --tmpfs %s)", err, l.Run(), l.Run()))
		return ExitSystem
	}
	// stage2 starts now, so that its runtime comes up while this process
	// writes the envdir, applies the perms and seeds the scandir. It waits
	// on the ready pipe until s6-svscan, which gets the write end, is
	// ready (see awaitSvscan).
	ready, err := startStage2(exe, cmd, childEnv(merged))
	if err != nil {
		log.error(fmt.Errorf("start stage2: %w", err))
		return ExitSystem
	}
	if err := envload.WriteDir(l.RunEnvs(), merged); err != nil {
		log.error(err)
		return ExitSystem
	}
	log.info("env", "Environment files loaded")

	if !cfg.SkipPerms {
		if err := Preboot(l, cfg, log); err != nil {
			var apply *ApplyError
			if !errors.As(err, &apply) || !cfg.ContinueOnFailure {
				log.error(err)
				return ExitUsage
			}
			log.warn("%v: continuing, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks", err)
		}
	}

	nfinal := len(scripts(l.EtcFinalize()))
	if bound := cfg.StopBound(nfinal); bound > 10*time.Second {
		log.warn("a shutdown may take up to %v (IGNITY_SERVICES_GRACETIME, IGNITY_KILL_FINALIZE_MAXTIME x %d finalize scripts, IGNITY_KILL_GRACETIME): more than docker stop's default 10 s; raise it with docker stop -t", bound, nfinal)
	}

	if err := seedScandir(l, exe); err != nil {
		log.error(err)
		return ExitSystem
	}

	// s6-svscan's stdin is /dev/null: only the CMD reads the container's.
	if null, err := unix.Open("/dev/null", unix.O_RDONLY, 0); err == nil {
		unix.Dup2(null, 0)
		unix.Close(null)
	}
	// Hand what Go caught of the early signals to stage2, which replays it
	// once s6-svscan is ready. A signal that arrives from here until
	// s6-svscan has set up its own handling is lost, blocked or not:
	// s6-svscan starts by clearing its signal mask, and PID 1 drops a
	// signal it has no handler for. A window of about a millisecond,
	// inherent to exec'ing s6-svscan; see the README.
	select {
	case s := <-early:
		writeState(l, statePending, strconv.Itoa(int(s.(unix.Signal))))
	default:
	}

	// s6-svscan -d writes a newline on the ready pipe once it has set up
	// its signal handling and reads its control FIFO: stage2's go-ahead.
	// The FIFO alone is not enough: s6-svscan opens it before it traps
	// signals, and a SIGTERM in between would be lost.
	fd := ready.Fd()
	if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
		log.error(fmt.Errorf("hand the ready pipe to s6-svscan: %w", err))
		return ExitSystem
	}
	argv := []string{"s6-svscan", "-d", strconv.Itoa(int(fd)), "-C", strconv.Itoa(max(1000, scanMax(l))), l.Scandir()}
	err = unix.Exec(layout.Svscan, argv, childEnv(env))
	log.error(fmt.Errorf("exec %s: %w", layout.Svscan, err))
	return ExitSystem
}

// startStage2 starts stage2 with the read end of the ready pipe as its fd
// 3, and returns the write end, close-on-exec until stage1 hands it to
// s6-svscan.
func startStage2(exe string, cmd, env []string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	argv := append([]string{filepath.Base(exe), "stage2", "--"}, cmd...)
	if _, err := proc.Spawn(exe, argv, env, []*os.File{os.Stdin, os.Stdout, os.Stderr, r}, nil); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// awaitSvscan blocks stage2 until s6-svscan is ready (see Stage1), and
// reports whether it is. The pipe's end without a newline means stage1
// failed, and said why, or s6-svscan could not start.
func awaitSvscan() bool {
	ready := os.NewFile(3, "s6-svscan-ready")
	defer ready.Close()
	b := make([]byte, 1)
	n, _ := ready.Read(b)
	return n == 1 && b[0] == '\n'
}

// resetRun empties /run/ignity, which may hold a previous run's state
// (docker restart keeps the container's filesystem), and recreates its
// directories. /run/ignity itself may be a mount point: it is kept.
func resetRun(l layout.Layout) error {
	if err := os.MkdirAll(l.Run(), 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(l.Run())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(l.Run(), e.Name())); err != nil {
			return err
		}
	}
	return os.MkdirAll(l.SvscanDir(), 0o755)
}

// seedScandir installs s6-svscan's control files as symlinks to this
// binary, which recognizes them by name (see Handler):
//   - SIGTERM, SIGINT, SIGQUIT start the shutdown (docker stop, Ctrl-C);
//   - SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH are forwarded to the CMD;
//   - finish and crash are stage3: s6-svscan execs them as PID 1.
//
// Symlinks rather than scripts: exec resolves them to the binary's own
// filesystem, so they work when /run/ignity is a noexec tmpfs (the
// default of docker run --tmpfs), and cost one exec, no interpreter.
func seedScandir(l layout.Layout, exe string) error {
	// One symlink, hard-linked under the other names: a link is a
	// directory entry, not a new inode.
	first := filepath.Join(l.SvscanDir(), "finish")
	if err := os.Symlink(exe, first); err != nil {
		return err
	}
	var errs []error
	for name := range handlers {
		if name != "finish" {
			errs = append(errs, os.Link(first, filepath.Join(l.SvscanDir(), name)))
		}
	}
	return errors.Join(errs...)
}

// handlers maps s6-svscan's control file names to what they do.
var handlers = map[string]func(l layout.Layout, name string) int{
	"SIGTERM": Shutdown, "SIGINT": Shutdown, "SIGQUIT": Shutdown,
	"SIGHUP": Forward, "SIGUSR1": Forward, "SIGUSR2": Forward, "SIGWINCH": Forward,
	"finish": func(l layout.Layout, _ string) int { return Stage3(l) },
	"crash":  func(l layout.Layout, _ string) int { return Stage3(l) },
}

// Handler returns the handler s6-svscan runs as argv0 (".s6-svscan/NAME",
// relative to the scandir), or nil when argv0 is not one.
func Handler(argv0 string) func(l layout.Layout) int {
	if filepath.Base(filepath.Dir(argv0)) != ".s6-svscan" {
		return nil
	}
	h, ok := handlers[filepath.Base(argv0)]
	if !ok {
		return nil
	}
	name := filepath.Base(argv0)
	return func(l layout.Layout) int { return h(l, name) }
}

// scanMax is s6-svscan's -c: its default of 500 service dirs, or more
// when the image has more services (a logged service counts twice).
func scanMax(l layout.Layout) int {
	entries, _ := os.ReadDir(l.EtcServices())
	return max(500, 2*len(entries)+10)
}

// scripts lists the executable candidates of dir in name order, skipping
// dot files.
func scripts(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.Name()[0] == '.' {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}
