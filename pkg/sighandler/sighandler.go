// Package sighandler is s6-svscan's signal handlers: the programs it runs
// as .s6-svscan/SIG* (links to this binary, which stage1 seeds) for the
// signals it diverts, each doing what package signals' table says of its
// signal. A handler reads the configuration once, at its entry.
// s6-svscan's finish and crash, stage3, are dispatched by cmd/ignity-init:
// nothing here imports the stages.
package sighandler

import (
	"fmt"

	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/signals"
	"golang.org/x/sys/unix"
)

// Find returns the handler of the control file name (see signals.Control), or
// nil when it is no diverted signal's.
func Find(name string) func(sys container.System) int {
	for _, e := range signals.Diverted() {
		if e.Name == name {
			return func(sys container.System) int { return Handle(sys, e.Signal) }
		}
	}
	return nil
}

// Handle does what sig means (signals.Act) given whether a CMD runs and
// the configuration: start the shutdown, with the signal's name as the
// reason (SIGQUIT stops the loggers at once too); send it to the CMD's
// process group, once and unchanged, as tini and dumb-init forward
// signals (Ctrl-C through docker's sig-proxy, a JVM's thread dump): the
// CMD's exit then stops the container, as any CMD exit does; rescan
// (SIGHUP keeps s6's meaning); or drop it. It exits 111 when it cannot do
// its job (s6-svscan ignores that; the log is what the user sees).
func Handle(sys container.System, sig unix.Signal) int {
	name := unix.SignalName(sig)
	st := sys.State()
	cfg, cerr := st.Config()
	log := console.To(sys.Stderr, 1)
	if cerr == nil {
		log.SetLevel(cfg.Verbosity)
	}
	pgid, running := st.CmdGroup()
	policy := signals.Policy{CmdRunning: running, Receive: cerr == nil && cfg.CmdReceiveSignals, CmdStop: cfg.CmdStopSignal}
	var err error
	what := ""
	switch signals.Act(sig, policy) {
	case signals.Shutdown:
		err = st.RequestShutdown(name)
	case signals.ToCmd:
		err = st.SignalCmd(pgid, sig)
	case signals.Rescan:
		err = s6.Send(s6.ScanControl(sys.Layout.Scandir()), "an")
		what = "rescanning the services"
	case signals.Drop:
		what = "dropped"
	}
	if err != nil {
		log.Error(fmt.Errorf("%s: %w", name, err))
		return container.ExitSystem
	}
	if what != "" {
		// Said at IGNITY_VERBOSITY=2 only.
		log.Debug("signal", "%s with no CMD running: %s", name, what)
	}
	return 0
}
