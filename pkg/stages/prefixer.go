package stages

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/logprefix"
	"github.com/ignity/ignity/pkg/s6"
)

// installPrefixer makes the log prefixer (IGNITY_LOG_PREFIX=1) a service
// of the scandir, logprefix.Service, picked up with the others: s6-supervise
// restarts it when it dies, ignity health fails while it is down, and
// ignity status shows it. Its run is this binary (a symlink, which works
// on a noexec /run/ignity), which restart.ServiceProgram turns into restart.PrefixerRun.
// It has no finish: none of ignity's restart policy applies to it.
//
// Its timeout-kill covers both graces: at a shutdown it is told down with
// the services and drains their FIFOs until they have ended, so it must
// outlive the slowest of them, which s6 kills after
// IGNITY_SERVICES_GRACETIME.
func installPrefixer(l layout.Layout, cfg config.Config, exe string) error {
	final := filepath.Join(l.Scandir(), logprefix.Service)
	if _, err := os.Lstat(final); err == nil {
		return container.Exit(container.ExitUsage, fmt.Errorf("service %s: its name is the log prefixer's (IGNITY_LOG_PREFIX=1): rename the service, or turn the knob off", logprefix.Service))
	}
	// Built under a dot name, which s6-svscan skips, then renamed in.
	dir := filepath.Join(l.Scandir(), "."+logprefix.Service)
	err := os.Mkdir(dir, 0o755)
	if err == nil {
		err = os.Symlink(exe, filepath.Join(dir, "run"))
	}
	if err == nil {
		kill := max(cfg.ServicesGrace.Milliseconds(), 1) + cfg.KillGrace.Milliseconds()
		err = os.WriteFile(filepath.Join(dir, "timeout-kill"), []byte(strconv.FormatInt(kill, 10)+"\n"), 0o644)
	}
	if err == nil {
		err = s6.Install(dir, l.Scandir(), logprefix.Service, cfg.ServicesGrace)
	}
	if err != nil {
		return fmt.Errorf("install the log prefixer (IGNITY_LOG_PREFIX=1): %w", err)
	}
	return nil
}
