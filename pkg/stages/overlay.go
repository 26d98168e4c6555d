package stages

// s6-overlay's v2 layout and runtime paths, beside ignity's own phases
// (see the README's "Migrating from s6-overlay"):
//
//	stage1: the knobs (S6_* aliases, the layout's two defaults) → the
//	        runtime paths: /run/s6 (container_environment, basedir/bin/halt,
//	        services), /run/s6-linux-init-container-results/exitcode,
//	        /run/service, /var/run/s6 → s6-svscan, with the merged
//	        environment when IGNITY_KEEP_ENV=1
//	stage2: IGNITY_STAGE2_HOOK → /etc/fix-attrs.d → /etc/ignity/init then
//	        /etc/cont-init.d → services → IGNITY_CMD_ARG0 before the CMD
//	stage3: /etc/ignity/finalize then /etc/cont-finish.d, while the
//	        services stop → the exit code file decides when nothing did

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/perms"
	"github.com/ignity/ignity/pkg/proc"
	"golang.org/x/sys/unix"
)

// parseConfig reads the knobs of the merged environment, with the
// s6-overlay layout's defaults when the image has it, and says once what
// there is to say about its S6_* variables.
func (b *stage1) parseConfig(merged []string) (config.Config, error) {
	b.overlay = b.sys.Layout.Overlay()
	cfg, notes, err := config.ParseFor(merged, b.overlay)
	if err != nil {
		return cfg, err
	}
	b.log.SetLevel(cfg.Verbosity)
	if b.overlay {
		b.log.Debug("env", "s6-overlay layout found (/etc/s6-overlay/s6-rc.d, /etc/services.d, /etc/cont-init.d or /etc/fix-attrs.d): IGNITY_BEHAVIOUR_IF_STAGE2_FAILS and IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME default to 0")
	}
	for _, n := range notes {
		if n.Level == config.Warn {
			b.log.Warn("%s", n.Text)
		} else {
			b.log.Debug("env", "%s", n.Text)
		}
	}
	return cfg, nil
}

// compatPaths makes s6-overlay's runtime paths. Inside /run/ignity:
// s6/container_environment (the envdir), s6/services (the scandir),
// s6/basedir/bin/halt (this binary, which requests a shutdown by that
// name: a symlink, so it runs on a noexec /run/ignity), and the exit code
// file, empty. Outside it, the symlinks of layout.CompatLinks where the
// root is writable; on a read-only root the installer made them.
func (b *stage1) compatPaths() error {
	l := b.sys.Layout
	bin := filepath.Dir(l.HaltProgram())
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	errs := []error{os.Symlink(b.sys.Exe, l.HaltProgram())}
	for _, k := range layout.RunLinks {
		errs = append(errs, os.Symlink(k.Target, filepath.Join(l.Run(), k.Path)))
	}
	errs = append(errs, b.st.CreateExitcode())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("create s6-overlay's paths in %s: %w", l.Run(), err)
	}
	for _, k := range layout.CompatLinks {
		b.compatLink(k)
	}
	return nil
}

// compatLink makes the symlink k under the root, unless it is there.
// /var/run/s6 is left out where /var/run leads to /run (Debian's
// symlink): /run/s6 is that path already. Where there is no /var/run,
// it becomes that symlink.
func (b *stage1) compatLink(k layout.Link) {
	root := b.sys.Layout.Root
	host := filepath.Join(root, k.Path)
	if k.Path == "/var/run/s6" {
		varRun := filepath.Join(root, "var/run")
		if _, err := os.Lstat(varRun); errors.Is(err, os.ErrNotExist) {
			// No /var/run (busybox images): Debian's symlink, relative.
			// A failure shows below: /var/run/s6 cannot be made either.
			if err := os.MkdirAll(filepath.Dir(varRun), 0o755); err == nil {
				os.Symlink("../run", varRun)
			}
		}
		if sameDir(varRun, filepath.Join(root, "run")) {
			return
		}
	}
	if target, err := os.Readlink(host); err == nil {
		if target != k.Target {
			b.log.Warn("%s is a symlink to %s, not to %s: s6-overlay's scripts that use it will not find ignity's (remove it from the image)", k.Path, target, k.Target)
		}
		return
	}
	if st, err := os.Lstat(host); err == nil && st.IsDir() && k.Path == "/var/run/s6" {
		b.varRunS6Dir(host)
		return
	}
	if _, err := os.Lstat(host); err == nil {
		b.log.Warn("%s exists and is not ignity's symlink to %s: s6-overlay's scripts that use it will not find ignity's (remove it from the image, it is made at boot)", k.Path, k.Target)
		return
	}
	if err := os.Symlink(k.Target, host); err != nil {
		b.log.Debug("init", "cannot create %s (%v): on a read-only root, the installer makes it", k.Path, err)
	}
}

// varRunS6Dir fills /var/run/s6 where the image made it a directory of
// its own (s6-overlay v2's tarball did, as it made /var/run one): v2's
// paths in it, services (the scandir) and container_environment, and
// basedir, become symlinks into /run/ignity. An entry already there is
// left alone, with a warning.
func (b *stage1) varRunS6Dir(host string) {
	for _, k := range []layout.Link{
		{Path: "services", Target: "/run/ignity/services-state"},
		{Path: "container_environment", Target: "/run/ignity/envs"},
		{Path: "basedir", Target: "/run/ignity/s6/basedir"},
	} {
		p := filepath.Join(host, k.Path)
		if target, err := os.Readlink(p); err == nil && target == k.Target {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			b.log.Warn("/var/run/s6/%s exists and is not ignity's symlink to %s: s6-overlay's scripts that use it will not find ignity's (remove it from the image)", k.Path, k.Target)
			continue
		}
		if err := os.Symlink(k.Target, p); err != nil {
			b.log.Debug("init", "cannot create /var/run/s6/%s (%v): on a read-only root, make it in the image (ln -s %s /var/run/s6/%s)", k.Path, err, k.Target, k.Path)
		}
	}
}

// sameDir reports whether a and b resolve to the same directory.
func sameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// svscanEnv is the environment s6-svscan, and so every service, runs
// with: the container's, or with IGNITY_KEEP_ENV=1 (S6_KEEP_ENV) the
// merged one, so that services need no with-env.
func (b *stage1) svscanEnv() []string {
	if b.cfg.KeepEnv {
		return layout.ChildEnv(b.merged)
	}
	return layout.ChildEnv(b.env)
}

// finalizeCount is the number of finalize scripts a shutdown runs, each
// bounded by IGNITY_KILL_FINALIZE_MAXTIME: ignity's and cont-finish.d's.
func finalizeCount(l layout.Layout) int {
	return len(scripts(l.EtcFinalize())) + len(scripts(l.EtcContFinish()))
}

// stage2Hook runs IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK) with sh -c, first,
// before the definitions are read (it may edit them). A non-zero status
// stops the container with that status under the stop policy, else it
// is a warning.
func (b *stage2) stage2Hook() error {
	if b.cfg.Stage2Hook == "" {
		return nil
	}
	sh := filepath.Join(b.sys.Layout.Root, "bin/sh")
	status, err := proc.Run([]string{sh, "-c", b.cfg.Stage2Hook}, b.env, 0, proc.WaitPid, b.term)
	var failure error
	switch {
	case errors.Is(err, proc.ErrStopped):
		return err
	case err != nil:
		failure = fmt.Errorf("IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK): %w", err)
		status = 126
	case status != 0:
		failure = fmt.Errorf("IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK) exited %d", status)
	default:
		return b.reloadEnv()
	}
	if err := container.Policy(b.cfg, b.log).FailScript(failure, status); err != nil {
		return err
	}
	return b.reloadEnv()
}

// fixAttrs applies /etc/fix-attrs.d, s6-overlay's perms files, after
// ignity's own perms: the same lines (`path recurse account fmode dmode`),
// but dot files below a recursed directory are left alone unless
// IGNITY_FIX_ATTRS_HIDDEN=1 (S6_FIX_ATTRS_HIDDEN). IGNITY_SKIP_PERMS
// skips it with the perms.
func (b *stage2) fixAttrs() error {
	l := b.sys.Layout
	b.v2Modes()
	if b.cfg.SkipPerms || len(scripts(l.EtcFixAttrs())) == 0 {
		return nil
	}
	b.log.Info("perm", "Applying /etc/fix-attrs.d ownership & permissions fixes")
	rules, err := perms.LoadDir(l.EtcFixAttrs(), b.cfg.PermVars())
	if err != nil {
		return failWith(container.ExitUsage, err)
	}
	for i := range rules {
		rules[i].SkipHidden = !b.cfg.FixAttrsHidden
	}
	err = perms.Apply(l.Root, rules, b.log)
	var apply *perms.ApplyError
	switch {
	case errors.As(err, &apply):
		// As /etc/ignity/perms in stage1: 100 under the stop policy.
		if err := container.Policy(b.cfg, b.log).Fail(fmt.Errorf("/etc/fix-attrs.d: %w", err), container.ExitUsage, container.Continuing); err != nil {
			return err
		}
	case err != nil:
		return failWith(container.ExitUsage, err) // a bad line, named file:line
	}
	b.log.Info("perm", "/etc/fix-attrs.d fixes applied")
	return nil
}

// v2Modes makes the scripts of /etc/cont-init.d and /etc/cont-finish.d,
// and the programs of /etc/services.d's service dirs, executable, as
// s6-overlay v2 did at every boot (its fix-attrs pass over them): v2
// images ship them 0644 (behance's), or write run files with echo. Said
// once, naming them. A file that cannot be changed (a read-only root, a
// non-root boot over root's files) is named too: a script then runs
// through its #! interpreter (see v2Argv), a service's program fails. Each is changed through a descriptor
// opened without following a symlink at its last component.
func (b *stage2) v2Modes() {
	l := b.sys.Layout
	files := append(scripts(l.EtcContInit()), scripts(l.EtcContFinish())...)
	for _, d := range scripts(l.EtcServicesD()) {
		for _, p := range []string{"run", "finish", "log/run", "log/finish"} {
			files = append(files, filepath.Join(d, p))
		}
	}
	var made []string
	for _, f := range files {
		changed, err := addExec(f)
		switch {
		case err != nil:
			b.log.Warn("%s: not executable and cannot be made so as s6-overlay v2 did (%v): it runs through its #! interpreter; chmod +x it in the image", l.InImage(f), err)
		case changed:
			made = append(made, l.InImage(f))
		}
	}
	if len(made) > 0 {
		b.log.Info("perm", "made executable, as s6-overlay v2 did at every boot: %s", strings.Join(made, ", "))
	}
}

// addExec gives the regular file p the x bits of its r bits when it has
// none, and reports whether it did.
func addExec(p string) (bool, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ELOOP) {
			return false, nil // absent, or a symlink: not v2's concern
		}
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 != 0 {
		return false, err
	}
	perm := st.Mode().Perm()
	return true, f.Chmod(perm | (perm&0o444)>>2)
}

// initList is the init scripts in the order they run: ignity's own
// (their copies, or the image's on a noexec /run/ignity), then
// /etc/cont-init.d's, from the image (ignity never modifies it).
func (b *stage2) initList() []string {
	l := b.sys.Layout
	return append(scripts(execDir(b.noexec, l.RunInit(), l.EtcInit())), scripts(l.EtcContInit())...)
}

// finalizeList is the finalize scripts in the order they run: ignity's,
// then /etc/cont-finish.d's.
func finalizeList(dir string, l layout.Layout) []string {
	return append(scripts(dir), scripts(l.EtcContFinish())...)
}

// exitcodeFile warns about an exit code file that holds something other
// than an exit code: it decides nothing then.
func (d *stage3) exitcodeFile() error {
	if _, _, err := d.st.Exitcode(); err != nil {
		return fmt.Errorf("%w: it decides nothing", err)
	}
	return nil
}
