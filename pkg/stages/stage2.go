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
	"syscall"
	"time"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/svc"
	"golang.org/x/sys/unix"
)

// Stage2 runs beside s6-svscan, as its child: init scripts, services,
// the optional wait, then the CMD. With a CMD it ends by exec'ing
// execline's wait on it, which then runs cmd-exit; no Go process stays
// while the CMD runs.
func Stage2(l layout.Layout, exe string, cmd []string) int {
	env := os.Environ()
	cfg, _ := config.Parse(env) // stage1 validated it
	log := newLogger(cfg.Verbosity)
	writeState(l, stateStage2, strconv.Itoa(os.Getpid()))
	// stage3 sends SIGTERM to a stage2 still booting: caught, not fatal,
	// so that the boot stops where it is (see stopping) and a CMD being
	// started is stopped properly.
	term := make(chan os.Signal, 1)
	signal.Notify(term, unix.SIGTERM)
	if !awaitSvscan() {
		return 0 // stage1 or s6-svscan failed, and said why
	}
	if sig, ok := readStateInt(l, statePending); ok {
		unix.Kill(os.Getppid(), unix.Signal(sig))
		return 0
	}

	for _, c := range [][2]string{{l.EtcInit(), l.RunInit()}, {l.EtcFinalize(), l.RunFinalize()}, {l.EtcServices(), l.RunServices()}} {
		if err := copyDir(c[0], c[1]); err != nil {
			return fail(l, log, ExitSystem, err)
		}
	}

	noexec := svc.Noexec(l.Run())
	if noexec {
		log.warn("%s is mounted noexec (docker run --tmpfs's default): running scripts and services from %s", l.Run(), l.Etc())
	}
	// docker stop during the init scripts: stop the running one, boot no
	// further; stage3 does the rest.
	log.info("init", "Executing environment init scripts")
	for _, s := range scripts(execDir(l, l.RunInit(), l.EtcInit())) {
		if stopping(l) {
			return 0
		}
		status, err := runScript(s, env, cfg.InitMax, term)
		var failure error
		switch {
		case errors.Is(err, errStopped):
			return 0
		case errors.Is(err, proc.ErrTimeout):
			failure = fmt.Errorf("init script %s killed after IGNITY_INIT_MAXTIME=%d ms", etcName(l, s), cfg.InitMax.Milliseconds())
		case err != nil:
			return fail(l, log, ExitUsage, err)
		case status != 0:
			failure = fmt.Errorf("init script %s exited %d", etcName(l, s), status)
		}
		if failure != nil {
			if !cfg.ContinueOnFailure {
				return fail(l, log, status, fmt.Errorf("%w: the container stops", failure))
			}
			log.warn("%v: continuing, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks", failure)
		}
	}
	log.info("init", "Environment init scripts executed")
	if stopping(l) {
		return 0
	}

	log.info("service", "Starting services")
	if err := installServices(l, cfg, noexec); err != nil {
		return fail(l, log, ExitUsage, err)
	}
	if err := svc.Send(svc.ScanControl(l.Scandir()), "a"); err != nil {
		return fail(l, log, ExitSystem, err)
	}
	log.info("service", "Services started")

	if len(cmd) == 0 {
		return 0
	}
	if cfg.CmdWaitForServices {
		if err := waitServices(l, cfg); err != nil {
			if !cfg.ContinueOnFailure {
				return fail(l, log, 1, err)
			}
			log.warn("%v: starting the CMD anyway, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks", err)
		}
	}
	if stopping(l) {
		return 0
	}

	return runCmd(l, log, exe, cmd, env)
}

// runCmd starts the CMD in a process group of its own, made the
// terminal's foreground group when stdin is one (a new session could not
// take the terminal PID 1's session owns), then execs execline's wait on
// it, which runs cmd-exit with the status in "?". No Go process stays.
func runCmd(l layout.Layout, log *logger, exe string, cmd, env []string) int {
	path, err := exec.LookPath(cmd[0])
	if err != nil {
		return cmdFailed(l, log, cmd, 127, fmt.Errorf("%s: not found", cmd[0]))
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		attr.Foreground, attr.Ctty = true, 0
	}
	pid, err := proc.Spawn(path, cmd, env, []*os.File{os.Stdin, os.Stdout, os.Stderr}, attr)
	if err != nil {
		code := 126
		if errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return cmdFailed(l, log, cmd, code, err)
	}
	writeState(l, stateCmdPgid, strconv.Itoa(pid))
	// The waiter must outlive the shutdown's SIGTERM to every process, to
	// record the CMD's status: it ignores it (the CMD, started before,
	// keeps the default dispositions).
	signal.Ignore(unix.SIGTERM, unix.SIGINT, unix.SIGQUIT)
	// A shutdown may have started while the CMD was being started: whoever
	// starts one records its reason before looking for the CMD's group, so
	// either it saw the group and stopped the CMD, or the reason is seen
	// here, after the group was recorded, and the CMD is stopped here.
	if stopping(l) {
		unix.Kill(-pid, unix.SIGTERM)
		unix.Kill(-pid, unix.SIGCONT)
	}
	argv := append([]string{"wait", "-o", " " + strconv.Itoa(pid), "", exe, "cmd-exit", "--"}, cmd...)
	err = unix.Exec(layout.Wait, argv, env)
	unix.Kill(-pid, unix.SIGKILL)
	return fail(l, log, ExitSystem, fmt.Errorf("exec %s: %w", layout.Wait, err))
}

// cmdFailed reports a CMD that could not start as if it had exited.
func cmdFailed(l layout.Layout, log *logger, cmd []string, code int, err error) int {
	log.error(fmt.Errorf("cmd: %w", err))
	return cmdExited(l, log, cmd, code)
}

// execDir is where the scripts of a phase run from: their copy under
// /run/ignity, or the image's own when /run/ignity is mounted noexec.
func execDir(l layout.Layout, run, etc string) string {
	if svc.Noexec(l.Run()) {
		return etc
	}
	return run
}

// stopping reports whether a shutdown has started (e.g. docker stop while
// the init scripts ran): the boot goes no further.
func stopping(l layout.Layout) bool {
	_, err := os.Stat(l.State(stateReason))
	return err == nil
}

// etcName maps a copied script back to the path the user wrote.
func etcName(l layout.Layout, runPath string) string {
	rel, err := filepath.Rel(l.Run(), runPath)
	if err != nil || strings.HasPrefix(rel, "..") {
		return runPath
	}
	return filepath.Join(l.Etc(), rel)
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
	for _, e := range entries {
		if e.Name()[0] == '.' {
			continue
		}
		if err := svc.CopyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return fmt.Errorf("copy %s: %w", filepath.Join(src, e.Name()), err)
		}
	}
	return nil
}

// errStopped reports a script stopped because the container stops.
var errStopped = errors.New("stopped: the container is stopping")

// runScript runs one init script in its own process group, with stdin
// from /dev/null (the container's stdin belongs to the CMD), for at most
// max (0 = no limit). A signal on stop sends it SIGTERM and the result is
// errStopped.
func runScript(path string, env []string, max time.Duration, stop <-chan os.Signal) (int, error) {
	if err := checkExecutable(path); err != nil {
		return 0, err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	pid, err := proc.Start([]string{path}, env, []*os.File{null, os.Stdout, os.Stderr})
	if err != nil {
		return 0, fmt.Errorf("run %s: %w", path, err)
	}
	done := make(chan struct{})
	stopped := make(chan bool, 1)
	go func() {
		select {
		case <-stop:
			unix.Kill(-pid, unix.SIGTERM)
			unix.Kill(-pid, unix.SIGCONT)
			stopped <- true
		case <-done:
			stopped <- false
		}
	}()
	status, err := proc.Bounded(pid, proc.WaitPid(pid), max)
	close(done)
	if <-stopped {
		return status, errStopped
	}
	return status, err
}

// checkExecutable names the problem with a script before exec would give
// a bare EACCES or ENOENT.
func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s: not executable (chmod +x it)", path)
	}
	b := make([]byte, 256)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	n, _ := f.Read(b)
	f.Close()
	if line, ok := strings.CutPrefix(string(b[:n]), "#!"); ok {
		line, _, _ = strings.Cut(line, "\n")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			return fmt.Errorf("%s: empty #! line", path)
		}
		if _, err := os.Stat(fields[0]); err != nil {
			return fmt.Errorf("%s: interpreter %s of its #! line not found", path, fields[0])
		}
	}
	return nil
}

// installServices copies every service dir into the scandir; each must
// have an executable run file.
func installServices(l layout.Layout, cfg config.Config, noexec bool) error {
	entries, err := os.ReadDir(l.RunServices())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.Name()[0] == '.' {
			continue
		}
		src := filepath.Join(l.RunServices(), e.Name())
		if err := checkExecutable(filepath.Join(src, "run")); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", filepath.Join(l.EtcServices(), e.Name()), err))
			continue
		}
		if noexec {
			errs = append(errs, svc.LinkPrograms(src, filepath.Join(l.EtcServices(), e.Name())))
		}
		if err := svc.Install(src, l.Scandir(), e.Name(), cfg.ServicesGrace); err != nil {
			errs = append(errs, fmt.Errorf("install service %s: %w", e.Name(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return keepServicesPath(l)
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
	list, err := svc.List(l.Scandir())
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
// supervisors first (svc.Supervised).
func waitServices(l layout.Layout, cfg config.Config) error {
	deadline := time.Now().Add(cfg.CmdWaitMax)
	if cfg.CmdWaitMax == 0 {
		deadline = time.Now().Add(100 * 365 * 24 * time.Hour)
	}
	list, err := svc.List(l.Scandir())
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
	if left := svc.WaitSupervised(dirs, deadline); len(left) > 0 {
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
		c := exec.Command(layout.Svwait, append([]string{set.flag, "-t", ms}, set.dirs...)...)
		c.Stderr = os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("services not up within IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=%d: %s", cfg.CmdWaitMax.Milliseconds(), strings.Join(notUp(set.dirs, set.flag == "-U"), ", "))
		}
	}
	return nil
}

// notUp names the services of dirs that are not up (or not ready).
func notUp(dirs []string, ready bool) []string {
	var out []string
	for _, d := range dirs {
		b, err := exec.Command("/usr/bin/s6-svstat", "-o", "up,ready", d).Output()
		f := strings.Fields(string(b))
		if err != nil || len(f) != 2 || f[0] != "true" || (ready && f[1] != "true") {
			out = append(out, filepath.Base(d))
		}
	}
	return out
}
