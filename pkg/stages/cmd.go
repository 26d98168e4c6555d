package stages

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/svc"
	"github.com/kballard/go-shellquote"
	"golang.org/x/sys/unix"
)

// CmdExit runs after the CMD, with its status in execline's "?" (set by
// wait -o: the code, 128+n for signal n; foreground's 256+n is read too).
func CmdExit(sys System, cmd []string) int {
	st := sys.state()
	log := console.To(sys.Stderr, 1)
	if cfg, err := st.Config(); err == nil {
		log.SetLevel(cfg.Verbosity)
	}
	status, err := proc.ExeclineStatus(os.Getenv("?"))
	if err != nil {
		log.Error(fmt.Errorf("cmd-exit: %w", err))
		status = ExitSystem
	}
	if err := cmdExited(st, log, cmd, status); err != nil {
		log.Error(err)
		return ExitSystem
	}
	return 0
}

// cmdExited logs the CMD's end and hands its status to runstate, which
// records it as the container's and starts the shutdown.
func cmdExited(st runstate.State, log *console.Logger, cmd []string, status int) error {
	log.Info("cmd", "%s exited %d", shellquote.Join(cmd...), status)
	return st.CmdExited(status)
}

// handlers maps s6-svscan's control file names to what they do.
var handlers = map[string]func(sys System, name string) int{
	"SIGTERM": Shutdown, "SIGINT": Shutdown, "SIGQUIT": Shutdown,
	"SIGHUP": Forward, "SIGUSR1": Forward, "SIGUSR2": Forward, "SIGWINCH": Forward,
	"finish": func(sys System, _ string) int { return Stage3(sys) },
	"crash":  func(sys System, _ string) int { return Stage3(sys) },
}

// Handler returns the handler s6-svscan runs as argv0 (".s6-svscan/NAME",
// relative to the scandir), or nil when argv0 is not one.
func Handler(argv0 string) func(sys System) int {
	if filepath.Base(filepath.Dir(argv0)) != ".s6-svscan" {
		return nil
	}
	name := filepath.Base(argv0)
	h, ok := handlers[name]
	if !ok {
		return nil
	}
	return func(sys System) int { return h(sys, name) }
}

// Shutdown is s6-svscan's SIGTERM, SIGINT and SIGQUIT handler: it asks
// for the shutdown, with the signal's name as the reason (SIGQUIT stops
// the loggers at once too).
func Shutdown(sys System, name string) int {
	if err := sys.state().RequestShutdown(name); err != nil {
		console.To(sys.Stderr, 1).Error(fmt.Errorf("%s: %w", name, err))
		return ExitSystem
	}
	return 0
}

// Forward is s6-svscan's handler for SIGHUP, SIGUSR1, SIGUSR2 and
// SIGWINCH: while a CMD runs they go to its process group, as tini and
// dumb-init forward them; otherwise SIGHUP keeps s6's meaning, rescan.
func Forward(sys System, name string) int {
	st := sys.state()
	log := console.To(sys.Stderr, 1)
	sig := unix.SignalNum(name)
	var err error
	pgid, running := st.CmdGroup()
	switch {
	case running:
		err = st.SignalCmd(pgid, sig)
	case sig == unix.SIGHUP:
		err = svc.Send(svc.ScanControl(sys.Layout.Scandir()), "an")
	}
	if err != nil {
		log.Error(fmt.Errorf("%s: %w", name, err))
		return ExitSystem
	}
	if !running {
		// Said at IGNITY_VERBOSITY=2 only: reading the knobs costs a file.
		if cfg, cerr := st.Config(); cerr == nil {
			log.SetLevel(cfg.Verbosity)
		}
		what := "dropped"
		if sig == unix.SIGHUP {
			what = "rescanning the services"
		}
		log.Debug("signal", "%s with no CMD running: %s", name, what)
	}
	return 0
}
