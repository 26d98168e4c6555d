package harness

// The namespace child: the re-executed test binary, already PID 1 of its new
// pid namespace, turns its private mount namespace into the container's view,
// then execs the target in its place.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childEnv carries the JSON childSpec to the re-executed test binary; its
// presence is what makes Init act as the namespace child.
const childEnv = "IGNITY_HARNESS_CHILD"

// reportFD is the child's end of the setup-error pipe. It is close-on-exec, so
// the parent reads EOF and nothing else once the target runs.
const reportFD = 3

// setupFailed is the child's exit code when setup fails before the exec; the
// parent fails the test with the reported message instead of showing it.
const setupFailed = 125

// childSpec is what the parent tells the child to build and run.
type childSpec struct {
	Root     string   // host directory that becomes "/"
	Argv     []string // target argv; Argv[0] is looked up in PATH if it has no "/"
	Env      []string // the target's exact environment
	User     bool     // drop to UID:GID
	UID, GID int
	ReadOnly bool
	Tmpfs    []string // "path" or "path:opts"
	TTY      string   // host path of the pty slave, "" without a terminal
}

// runChild sets everything up and execs the target; on failure it reports
// through reportFD and exits setupFailed. It never returns.
func runChild(specJSON string) {
	// Credentials and the signal mask changed below are per thread on Linux,
	// and execve keeps only the calling thread's: stay on one thread.
	runtime.LockOSThread()
	unix.CloseOnExec(reportFD)
	report := os.NewFile(reportFD, "harness-report")

	var spec childSpec
	err := json.Unmarshal([]byte(specJSON), &spec)
	if err == nil {
		err = boot(&spec)
	}
	fmt.Fprintf(report, "%v", err)
	os.Exit(setupFailed)
}

// boot applies the mount plan, enters the root, becomes the target's user and
// execs the target. It returns only on failure.
func boot(s *childSpec) error {
	steps, err := plan(s)
	if err != nil {
		return err
	}
	for _, st := range steps {
		if err := st.apply(); err != nil {
			return fmt.Errorf("%v: %w", st, err)
		}
	}
	if err := unix.Chroot(s.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", s.Root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	unix.Umask(0o022)
	if s.User {
		if err := dropUser(s.UID, s.GID); err != nil {
			return err
		}
	}
	path, err := lookPath(s.Argv[0], s.Env)
	if err != nil {
		return err
	}
	if err := resetSignals(); err != nil {
		return err
	}
	err = unix.Exec(path, s.Argv, s.Env)
	return fmt.Errorf("exec %s: %w", path, err)
}

// ---- the mount plan ----

// step is one action of the mount plan; String prints it like the shell
// command that would do the same, for error messages and tests.
type step interface {
	apply() error
	String() string
}

type mkdirStep struct{ path string }

func (s mkdirStep) apply() error   { return os.MkdirAll(s.path, 0o755) }
func (s mkdirStep) String() string { return "mkdir -p " + s.path }

// touchStep creates an empty file to bind a device node over.
type touchStep struct{ path string }

func (s touchStep) apply() error {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
func (s touchStep) String() string { return "touch " + s.path }

type symlinkStep struct{ target, path string }

func (s symlinkStep) apply() error   { return os.Symlink(s.target, s.path) }
func (s symlinkStep) String() string { return "ln -s " + s.target + " " + s.path }

type mountStep struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

func (s mountStep) apply() error {
	return unix.Mount(s.source, s.target, s.fstype, s.flags, s.data)
}

func (s mountStep) String() string {
	var b strings.Builder
	b.WriteString("mount")
	if s.fstype != "" {
		b.WriteString(" -t " + s.fstype)
	}
	opts := mountFlagNames(s.flags)
	if s.flags&unix.MS_BIND != 0 && s.flags&unix.MS_REMOUNT == 0 {
		b.WriteString(" --bind")
	}
	if s.data != "" {
		opts = append(opts, s.data)
	}
	if len(opts) > 0 {
		b.WriteString(" -o " + strings.Join(opts, ","))
	}
	if s.source != "" {
		b.WriteString(" " + s.source)
	}
	b.WriteString(" " + s.target)
	return b.String()
}

// remountROStep makes a bind mount read-only, keeping its other per-mount
// flags (a bind remount replaces them all, so nosuid etc. must be restated).
type remountROStep struct{ path string }

func (s remountROStep) apply() error {
	var st unix.Statfs_t
	if err := unix.Statfs(s.path, &st); err != nil {
		return err
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return unix.Mount("", s.path, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|keep, "")
}
func (s remountROStep) String() string { return "mount -o remount,bind,ro " + s.path }

var flagNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_REMOUNT, "remount"},
	{unix.MS_RDONLY, "ro"},
	{unix.MS_NOSUID, "nosuid"},
	{unix.MS_NODEV, "nodev"},
	{unix.MS_NOEXEC, "noexec"},
	{unix.MS_REC, "rec"},
	{unix.MS_PRIVATE, "private"},
}

func mountFlagNames(f uintptr) []string {
	var names []string
	for _, n := range flagNames {
		if f&n.flag != 0 {
			names = append(names, n.name)
		}
	}
	return names
}

// devices are bound from the host's /dev into the root's /dev tmpfs.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// plan lists the setup steps for s, in order, all before the chroot.
func plan(s *childSpec) ([]step, error) {
	root := s.Root
	in := func(p string) string { return (&Root{Dir: root}).resolve(p) }
	steps := []step{
		// Nothing below may propagate back to the host's mounts.
		mountStep{target: "/", flags: unix.MS_REC | unix.MS_PRIVATE},
		// The root becomes a mount of its own, so a read-only remount at the
		// end affects the root alone, not the filesystem it lives on.
		mountStep{source: root, target: root, flags: unix.MS_BIND | unix.MS_REC},
		mkdirStep{in("/proc")},
		// A proc of the new pid namespace: the target sees itself as 1.
		mountStep{source: "proc", target: in("/proc"), fstype: "proc",
			flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	}

	dev := in("/dev")
	steps = append(steps,
		mkdirStep{dev},
		mountStep{source: "tmpfs", target: dev, fstype: "tmpfs",
			flags: unix.MS_NOSUID, data: "mode=755,size=65536k"})
	for _, d := range devices {
		p := filepath.Join(dev, d)
		steps = append(steps, touchStep{p},
			mountStep{source: "/dev/" + d, target: p, flags: unix.MS_BIND})
	}
	for _, l := range [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	} {
		steps = append(steps, symlinkStep{l[0], filepath.Join(dev, l[1])})
	}
	steps = append(steps,
		mkdirStep{filepath.Join(dev, "shm")},
		mountStep{source: "shm", target: filepath.Join(dev, "shm"), fstype: "tmpfs",
			flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, data: "mode=1777,size=65536k"},
		mkdirStep{filepath.Join(dev, "pts")})
	if s.TTY != "" {
		// The slave keeps its host name (/dev/pts/N): that is what
		// /proc/self/fd/0 shows, and ttyname(3) checks that the name leads
		// back to the same inode.
		if !strings.HasPrefix(s.TTY, "/dev/pts/") {
			return nil, fmt.Errorf("pty slave %q is not under /dev/pts", s.TTY)
		}
		for _, p := range []string{filepath.Join(dev, "pts", filepath.Base(s.TTY)), filepath.Join(dev, "console")} {
			steps = append(steps, touchStep{p}, mountStep{source: s.TTY, target: p, flags: unix.MS_BIND})
		}
	}

	for _, spec := range s.Tmpfs {
		path, opts, _ := strings.Cut(spec, ":")
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("tmpfs %q: path must be absolute", spec)
		}
		flags, data := tmpfsOptions(opts)
		steps = append(steps, mkdirStep{in(path)},
			mountStep{source: "tmpfs", target: in(path), fstype: "tmpfs", flags: flags, data: data})
	}

	if s.ReadOnly {
		steps = append(steps, remountROStep{root})
	}
	return steps, nil
}

// tmpfsOptions splits "size=64k,mode=1777,noexec" into mount flags and the
// filesystem's own options. The default is nosuid,nodev; unlike docker run
// --tmpfs, not noexec (say "noexec" to get it).
func tmpfsOptions(opts string) (uintptr, string) {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV)
	var data []string
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "":
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw":
			flags &^= unix.MS_RDONLY
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "exec":
			flags &^= unix.MS_NOEXEC
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "suid":
			flags &^= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "dev":
			flags &^= unix.MS_NODEV
		default:
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// ---- becoming the target ----

// dropUser switches this thread to uid:gid with no supplementary groups.
// Raw syscalls on purpose: Go's Setuid changes every thread of the runtime,
// while only this (locked) thread survives the exec. Order matters: groups
// and gid can only be changed while still root.
func dropUser(uid, gid int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("setgroups []: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGID, uintptr(gid), 0, 0); e != 0 {
		return fmt.Errorf("setgid %d: %w", gid, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETUID, uintptr(uid), 0, 0); e != 0 {
		return fmt.Errorf("setuid %d: %w", uid, e)
	}
	// Changing credentials clears the parent-death signal; restore it so the
	// namespace still dies with the test process.
	if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0); e != 0 {
		return fmt.Errorf("prctl PR_SET_PDEATHSIG: %w", e)
	}
	return nil
}

// lookPath finds argv0 in the PATH of env when it has no "/", as execvp would,
// inside the root and as the target's user.
func lookPath(argv0 string, env []string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, nil
	}
	path := defaultPATH
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, argv0)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && unix.Access(p, unix.X_OK) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %q: not found in PATH %q", argv0, path)
}

// kernelSigaction is the kernel's struct sigaction; all zero means SIG_DFL
// with no flags and an empty mask.
type kernelSigaction struct {
	handler, flags, restorer, mask uint64
}

// resetSignals gives this thread the signal state of a fresh process: every
// disposition SIG_DFL and nothing blocked. execve resets caught signals but
// keeps ignored ones and the mask, and the Go runtime (or whoever started the
// test binary, e.g. nohup) may leave either. The kernel's rule for a
// namespace's PID 1 (signals without a handler are not delivered) then holds
// for the target exactly as for a fresh init.
func resetSignals() error {
	var act kernelSigaction
	const sigsetSize = 8 // the kernel's sigset_t: 64 signals
	for sig := 1; sig <= 64; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
			uintptr(unsafe.Pointer(&act)), 0, sigsetSize, 0, 0)
		if e != 0 {
			return fmt.Errorf("rt_sigaction %d SIG_DFL: %w", sig, e)
		}
	}
	var empty uint64
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&empty)), 0, sigsetSize, 0, 0)
	if e != 0 {
		return fmt.Errorf("rt_sigprocmask SIG_SETMASK {}: %w", e)
	}
	return nil
}
