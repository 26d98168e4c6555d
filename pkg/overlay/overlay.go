// Package overlay is ignity's compatibility with s6-overlay images: its
// v2 layout and runtime paths, beside ignity's own phases (see the
// README's "Migrating from s6-overlay"). The stages call it at each
// phase, with what it acts on given explicitly (the layout, the
// configuration, the logger, the run state):
//
//	stage1: ParseConfig (the S6_* aliases, the layout's two defaults),
//	        Paths (/run/s6: container_environment, basedir/bin/halt,
//	        services; /run/s6-linux-init-container-results/exitcode;
//	        /run/service; /var/run/s6), SvscanEnv (the merged environment
//	        for s6-svscan when IGNITY_KEEP_ENV=1)
//	stage2: Hook (IGNITY_STAGE2_HOOK), FixAttrs (/etc/fix-attrs.d, and v2's
//	        modes), InitScripts (/etc/ignity/init then /etc/cont-init.d);
//	        V2Argv runs a cont-init.d script v2 would have made executable
//	stage3: FinalizeScripts (/etc/ignity/finalize then /etc/cont-finish.d),
//	        CheckExitcode (the exit code file decides when nothing did)
package overlay

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ignity/ignity/pkg/confdir"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/perms"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"golang.org/x/sys/unix"
)

// ---- stage1: the knobs, the runtime paths, s6-svscan's environment

// ParseConfig reads the knobs of the merged environment, with the
// s6-overlay layout's defaults when the image under l has it (found), and
// says once on log, set to the configured verbosity first, what there is
// to say about its S6_* variables.
func ParseConfig(l layout.Layout, merged []string, log *console.Logger) (cfg config.Config, found bool, err error) {
	found = l.Overlay()
	cfg, notes, err := config.ParseFor(merged, found)
	if err != nil {
		return cfg, found, err
	}
	log.SetLevel(cfg.Verbosity)
	if found {
		log.Debug("env", "s6-overlay layout found (/etc/s6-overlay/s6-rc.d, /etc/services.d, /etc/cont-init.d or /etc/fix-attrs.d): IGNITY_BEHAVIOUR_IF_STAGE2_FAILS and IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME default to 0")
	}
	for _, n := range notes {
		if n.Level == config.Warn {
			log.Warn("%s", n.Text)
		} else {
			log.Debug("env", "%s", n.Text)
		}
	}
	return cfg, found, nil
}

// Paths makes s6-overlay's runtime paths. Inside /run/ignity:
// s6/container_environment (the envdir), s6/services (the scandir),
// s6/basedir/bin/halt (exe, this binary, which requests a shutdown by that
// name: a symlink, so it runs on a noexec /run/ignity), and st's exit code
// file, empty. Outside it, the symlinks of layout.CompatLinks where the
// root is writable; on a read-only root the installer made them.
func Paths(l layout.Layout, exe string, st runstate.State, log *console.Logger) error {
	bin := filepath.Dir(l.HaltProgram())
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	errs := []error{os.Symlink(exe, l.HaltProgram())}
	for _, k := range layout.RunLinks {
		errs = append(errs, os.Symlink(k.Target, filepath.Join(l.Run(), k.Path)))
	}
	errs = append(errs, st.CreateExitcode())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("create s6-overlay's paths in %s: %w", l.Run(), err)
	}
	for _, k := range layout.CompatLinks {
		compatLink(l.Root, k, log)
	}
	return nil
}

// compatLink makes the symlink k under root, unless it is there.
// /var/run/s6 is left out where /var/run leads to /run (Debian's
// symlink): /run/s6 is that path already. Where there is no /var/run,
// it becomes that symlink.
func compatLink(root string, k layout.Link, log *console.Logger) {
	host := filepath.Join(root, k.Path)
	if k.Path == layout.VarRunS6 {
		l := layout.Layout{Root: root}
		varRun := l.VarRun()
		if _, err := os.Lstat(varRun); errors.Is(err, os.ErrNotExist) {
			// No /var/run (busybox images): Debian's symlink, relative.
			// A failure shows below: /var/run/s6 cannot be made either.
			if err := os.MkdirAll(filepath.Dir(varRun), 0o755); err == nil {
				os.Symlink("../run", varRun)
			}
		}
		if sameDir(varRun, l.RunDir()) {
			return
		}
	}
	if target, err := os.Readlink(host); err == nil {
		if target != k.Target {
			log.Warn("%s is a symlink to %s, not to %s: s6-overlay's scripts that use it will not find ignity's (remove it from the image)", k.Path, target, k.Target)
		}
		return
	}
	if st, err := os.Lstat(host); err == nil && st.IsDir() && k.Path == layout.VarRunS6 {
		varRunS6Dir(host, log)
		return
	}
	if _, err := os.Lstat(host); err == nil {
		log.Warn("%s exists and is not ignity's symlink to %s: s6-overlay's scripts that use it will not find ignity's (remove it from the image, it is made at boot)", k.Path, k.Target)
		return
	}
	if err := os.Symlink(k.Target, host); err != nil {
		log.Debug("init", "cannot create %s (%v): on a read-only root, the installer makes it", k.Path, err)
	}
}

// varRunS6Dir fills /var/run/s6 (host) where the image made it a
// directory of its own (s6-overlay v2's tarball did, as it made /var/run
// one): v2's paths in it, services (the scandir) and
// container_environment, and basedir, become symlinks into /run/ignity.
// An entry already there is left alone, with a warning.
func varRunS6Dir(host string, log *console.Logger) {
	for _, k := range layout.VarRunS6Links {
		p := filepath.Join(host, k.Path)
		if target, err := os.Readlink(p); err == nil && target == k.Target {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			log.Warn("/var/run/s6/%s exists and is not ignity's symlink to %s: s6-overlay's scripts that use it will not find ignity's (remove it from the image)", k.Path, k.Target)
			continue
		}
		if err := os.Symlink(k.Target, p); err != nil {
			log.Debug("init", "cannot create /var/run/s6/%s (%v): on a read-only root, make it in the image (ln -s %s /var/run/s6/%s)", k.Path, err, k.Target, k.Path)
		}
	}
}

// sameDir reports whether a and b resolve to the same directory.
func sameDir(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// SvscanEnv is the environment s6-svscan, and so every service, runs
// with: the container's (env), or with IGNITY_KEEP_ENV=1 (S6_KEEP_ENV)
// the merged one, so that services need no with-env.
func SvscanEnv(cfg config.Config, env, merged []string) []string {
	if cfg.KeepEnv {
		return layout.ChildEnv(merged)
	}
	return layout.ChildEnv(env)
}

// ---- stage2: the hook, fix-attrs.d, the init scripts

// Hook runs hook, IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK), with the image's
// sh -c, first, before the definitions are read (it may edit them), in
// env. When stop delivers, the error is proc.ErrStopped. A non-zero
// status stops the container with that status under the failure policy,
// else it is a warning and Hook returns nil.
func Hook(root, hook string, env []string, stop <-chan os.Signal, policy container.FailurePolicy) error {
	sh := layout.Layout{Root: root}.Shell()
	status, err := proc.Run([]string{sh, "-c", hook}, env, 0, proc.WaitPid, stop)
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
		return nil
	}
	return policy.FailScript(failure, status)
}

// FixAttrs applies /etc/fix-attrs.d, s6-overlay's perms files, after
// ignity's own perms: the same lines (`path recurse account fmode dmode`),
// but dot files below a recursed directory are left alone unless
// IGNITY_FIX_ATTRS_HIDDEN=1 (S6_FIX_ATTRS_HIDDEN). IGNITY_SKIP_PERMS
// skips it with the perms. First it gives v2's scripts and service
// programs their x bits (see v2Modes). A bad line stops the container
// with container.ExitUsage; a fix not made does too, under the failure
// policy, as /etc/ignity/perms does in stage1.
func FixAttrs(l layout.Layout, cfg config.Config, log *console.Logger) error {
	v2Modes(l, log)
	if cfg.SkipPerms || len(confdir.Paths(l.EtcFixAttrs())) == 0 {
		return nil
	}
	log.Info("perm", "Applying /etc/fix-attrs.d ownership & permissions fixes")
	rules, err := perms.LoadDir(l.EtcFixAttrs(), cfg.PermVars())
	if err != nil {
		return container.Exit(container.ExitUsage, err)
	}
	for i := range rules {
		rules[i].SkipHidden = !cfg.FixAttrsHidden
	}
	err = perms.Apply(l.Root, rules, log)
	var apply *perms.ApplyError
	switch {
	case errors.As(err, &apply):
		if err := container.Policy(cfg, log).Fail(fmt.Errorf("/etc/fix-attrs.d: %w", err), container.ExitUsage, container.Continuing); err != nil {
			return err
		}
	case err != nil:
		return container.Exit(container.ExitUsage, err) // a bad line, named file:line
	}
	log.Info("perm", "/etc/fix-attrs.d fixes applied")
	return nil
}

// v2Modes makes the scripts of /etc/cont-init.d and /etc/cont-finish.d,
// and the programs of /etc/services.d's service dirs, executable, as
// s6-overlay v2 did at every boot (its fix-attrs pass over them): v2
// images ship them 0644 (behance's), or write run files with echo. Said
// once, naming them. A file that cannot be changed (a read-only root, a
// non-root boot over root's files) is named too: a script then runs
// through its #! interpreter (see V2Argv), a service's program fails.
// Each is changed through a descriptor opened without following a
// symlink at its last component.
func v2Modes(l layout.Layout, log *console.Logger) {
	files := append(confdir.Paths(l.EtcContInit()), confdir.Paths(l.EtcContFinish())...)
	for _, d := range confdir.Paths(l.EtcServicesD()) {
		for _, p := range []string{"run", "finish", "log/run", "log/finish"} {
			files = append(files, filepath.Join(d, p))
		}
	}
	var made []string
	for _, f := range files {
		changed, err := addExec(f)
		switch {
		case err != nil:
			log.Warn("%s: not executable and cannot be made so as s6-overlay v2 did (%v): it runs through its #! interpreter; chmod +x it in the image", l.InImage(f), err)
		case changed:
			made = append(made, l.InImage(f))
		}
	}
	if len(made) > 0 {
		log.Info("perm", "made executable, as s6-overlay v2 did at every boot: %s", strings.Join(made, ", "))
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

// V2Argv is how a cont-init.d or cont-finish.d script that is not
// executable runs: s6-overlay v2 made them executable at every boot, and
// v2Modes does too where it may; where it may not (a non-root boot over
// root's files, a read-only root) the script runs through the interpreter
// its #! line names, with that line's one argument, as the kernel would
// run it, or /bin/sh without one, as execvp would. nil for any other file,
// and for one this process may execute.
func V2Argv(l layout.Layout, path string) []string {
	if d := filepath.Dir(path); d != l.EtcContInit() && d != l.EtcContFinish() {
		return nil
	}
	if unix.Access(path, unix.X_OK) == nil {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil // the check names it
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	line, _, _ := strings.Cut(string(head[:n]), "\n")
	interp, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return []string{"/bin/sh", path}
	}
	prog, arg, _ := strings.Cut(strings.TrimLeft(interp, " \t"), " ")
	if arg = strings.TrimSpace(arg); arg != "" {
		return []string{prog, arg, path}
	}
	return []string{prog, path}
}

// InitScripts is the init scripts in the order they run: ignity's own,
// from dir (their copies, or the image's on a noexec /run/ignity), then
// /etc/cont-init.d's, from the image (ignity never modifies it).
func InitScripts(dir string, l layout.Layout) []string {
	return append(confdir.Paths(dir), confdir.Paths(l.EtcContInit())...)
}

// ---- stage3: the finalize scripts, the exit code file

// FinalizeScripts is the finalize scripts in the order they run:
// ignity's, from dir, then /etc/cont-finish.d's.
func FinalizeScripts(dir string, l layout.Layout) []string {
	return append(confdir.Paths(dir), confdir.Paths(l.EtcContFinish())...)
}

// FinalizeCount is the number of finalize scripts a shutdown runs, each
// bounded by IGNITY_KILL_FINALIZE_MAXTIME: ignity's and cont-finish.d's.
func FinalizeCount(l layout.Layout) int {
	return len(FinalizeScripts(l.EtcFinalize(), l))
}

// CheckExitcode is an error about st's exit code file when it holds
// something other than an exit code: it decides nothing then.
func CheckExitcode(st runstate.State) error {
	if _, _, err := st.Exitcode(); err != nil {
		return fmt.Errorf("%w: it decides nothing", err)
	}
	return nil
}
