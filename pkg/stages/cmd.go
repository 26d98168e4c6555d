package stages

import (
	"fmt"
	"os"
	"strconv"

	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/svc"
	"github.com/kballard/go-shellquote"
	"golang.org/x/sys/unix"
)

// CmdExit runs after the CMD, with its status in execline's "?" (set by
// wait -o: the code, 128+n for signal n; foreground's 256+n is read too).
func CmdExit(l layout.Layout, cmd []string) int {
	log := newLogger(verbosity(os.Environ()))
	status, err := proc.ExeclineStatus(os.Getenv("?"))
	if err != nil {
		log.error(fmt.Errorf("cmd-exit: %w", err))
		status = ExitSystem
	}
	cmdExited(l, log, cmd, status)
	return 0
}

// cmdExited logs the CMD's end, records its status as the container's and
// starts the shutdown.
func cmdExited(l layout.Layout, log *logger, cmd []string, status int) int {
	log.info("cmd", "%s exited %d", shellquote.Join(cmd...), status)
	// The status before the pgid goes: stage3 reads them in that order.
	writeStateOnce(l, stateExit, strconv.Itoa(status))
	os.Remove(l.State(stateCmdPgid))
	if err := requestShutdown(l, "cmd exited"); err != nil {
		log.error(fmt.Errorf("start the shutdown: %w", err))
	}
	return status
}

// Shutdown is s6-svscan's SIGTERM, SIGINT and SIGQUIT handler: it starts
// stage3.
func Shutdown(l layout.Layout, name string) int {
	// The CMD's SIGTERM first: it may take the longest to exit.
	if pgid, ok := readStateInt(l, stateCmdPgid); ok {
		unix.Kill(-pgid, unix.SIGTERM)
		unix.Kill(-pgid, unix.SIGCONT)
	}
	if err := requestShutdown(l, name); err != nil {
		fmt.Fprintf(os.Stderr, "ignity: shutdown: %v\n", err)
		return ExitSystem
	}
	return 0
}

// Forward is s6-svscan's handler for SIGHUP, SIGUSR1, SIGUSR2 and
// SIGWINCH: while a CMD runs they go to its process group, as tini and
// dumb-init forward them; otherwise SIGHUP keeps s6's meaning, rescan.
func Forward(l layout.Layout, name string) int {
	sig := unix.SignalNum(name)
	if pgid, ok := readStateInt(l, stateCmdPgid); ok && sig != 0 {
		unix.Kill(-pgid, sig)
		return 0
	}
	if sig == unix.SIGHUP {
		if err := svcRescan(l); err != nil {
			fmt.Fprintf(os.Stderr, "ignity: %s: %v\n", name, err)
			return ExitSystem
		}
	}
	return 0
}

func svcRescan(l layout.Layout) error { return svc.Send(svc.ScanControl(l.Scandir()), "an") }
