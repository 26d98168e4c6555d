package stages

// Reading the service definitions, planning their start, and readying
// each longrun's dir for the ordered start (pkg/order).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/order"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"github.com/ignity/ignity/pkg/services"
	"golang.org/x/sys/unix"
)

// planServices takes the start plan stage1 made of the definitions of
// every source, as it recorded it, and readies what it starts: the
// longruns of s6-rc.d and services.d join ignity's own under
// /run/ignity/services, where init scripts see them too; a producer-for
// pipeline's consumer becomes its producer's log/.
func (b *stage2) planServices() error {
	l := b.sys.Layout
	plan, err := b.readPlan()
	if err != nil {
		return err
	}
	b.plan = plan
	b.origin = map[string]string{}
	var errs []error
	for _, u := range plan.Units {
		if u.Type != services.Longrun {
			continue
		}
		b.origin[u.Name] = u.Host
		if u.Source != services.Ignity {
			errs = append(errs, copyService(u.Host, filepath.Join(l.RunServices(), u.Name)))
		}
		if u.Logger != "" {
			errs = append(errs, copyService(u.LoggerHost, filepath.Join(l.RunServices(), u.Name, "log")))
		}
		errs = append(errs, funnel(filepath.Join(l.RunServices(), u.Name), u))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, dir := range plan.Unused {
		b.log.Debug("service", "%s is in neither the user nor the user2 bundle, nor a dependency of their members: not started", dir)
	}
	if !plan.HasDeps() {
		return nil
	}
	for _, u := range plan.Units {
		if len(u.Deps) > 0 {
			if err := b.st.SetUnit(u.Name, runstate.UnitWaiting, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// readPlan is the start plan stage1 recorded. A stage2 hook may have
// changed the definitions since (linuxserver's docker-mods add to the
// bundles): after one, they are read and planned again, and the new plan
// recorded in the place of stage1's, for stage3 and ignity status.
func (b *stage2) readPlan() (services.Plan, error) {
	if b.cfg.Stage2Hook == "" {
		plan, ok, err := b.st.Plan()
		if err == nil && !ok {
			err = errors.New("no start plan recorded: /init records one before stage2 starts")
		}
		return plan, err
	}
	defs, probs := services.Load(b.sys.Layout.Root, b.cfg.BundleDir)
	plan, more := services.MakePlan(defs)
	if probs = append(probs, more...); len(probs) > 0 {
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = p
		}
		return plan, container.Exit(container.ExitUsage, errors.Join(errs...))
	}
	return plan, b.st.SetPlan(plan)
}

// copyService copies a definition dir into /run/ignity/services, once.
func copyService(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := s6.CopyTree(src, dst); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

// prepareUnit readies the service dir dir of the longrun name before it
// goes into the scandir: when it waits for dependencies, down (unless an
// image's or an init script's down file already keeps it so: then it
// stays down, and what needs it fails), and in a funnel, run as ignity's
// wrapper (restart.ServiceRun), which opens the FIFO.
func (b *stage2) prepareUnit(name, dir string) error {
	u, ok := b.plan.Get(name)
	if !ok || u.Type != services.Longrun {
		return nil
	}
	if u.Source != services.Ignity {
		if err := os.WriteFile(filepath.Join(dir, s6.PwdFile), []byte(layout.OverlayPwd(name)), 0o644); err != nil {
			return err
		}
	}
	if u.Feeds != "" || u.Fed || u.Source != services.Ignity {
		if err := s6.SetRunWrapped(dir, b.sys.Exe, true); err != nil {
			return err
		}
	}
	if len(u.Deps) == 0 || present(filepath.Join(dir, "down")) {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, order.HeldMark), nil, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "down"), nil, 0o644)
}

// funnel makes the FIFO of a funnel's consumer u, in its dir, or links a
// producer's dir to its consumer's FIFO (a relative link: both dirs
// move into the scandir side by side).
func funnel(dir string, u services.Unit) error {
	switch {
	case u.Fed:
		p := filepath.Join(dir, s6.FunnelIn)
		if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("create the FIFO %s: %w", p, err)
		}
		return os.Chmod(p, 0o600)
	case u.Feeds != "":
		return os.Symlink(filepath.Join("..", u.Feeds, s6.FunnelIn), filepath.Join(dir, s6.FunnelOut))
	}
	return nil
}

// orderedStart starts the dependents as their dependencies start
// (pkg/order); a failure ends the boot with 1.
func (b *stage2) orderedStart() error {
	s := &order.Start{Sys: b.sys, Cfg: b.cfg, St: b.st, Log: b.log, Plan: b.plan, Cmd: b.cmd, Term: b.term, Environ: b.environ, ReloadEnv: b.reloadEnv}
	err := s.Run()
	if err != nil && !errors.Is(err, proc.ErrStopped) {
		return container.Exit(1, err)
	}
	return err
}
