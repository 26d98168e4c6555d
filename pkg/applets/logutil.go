package applets

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/envload"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/perms"
	"github.com/ignity/ignity/pkg/runstate"
	"golang.org/x/sys/unix"
)

// Logger is who logutil-service logs as when started as root: nobody,
// or nobodyID:nobodyID in an image without a nobody account, as
// s6-overlay's helper does.
const (
	loggerName = "nobody"
	nobodyID   = 32768
)

// LogutilService is logutil-service [-f FIFO] DIR, s6-overlay's helper for
// a one-line log/run: it execs s6-log with IGNITY_LOGGING_SCRIPT's
// directives into DIR, reading stdin, or FIFO with -f. As root it first
// creates DIR owned by nobody (32768:32768 without one) and becomes that
// user; as any other uid it creates DIR as itself. s6-log gets a clean
// environment (PATH alone). No Go process stays: it ends in exec.
func LogutilService(l layout.Layout, args []string, exec func(path string, argv, env []string) error) error {
	fs := flag.NewFlagSet("logutil-service", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fifo := fs.String("f", "", "read the log lines from this FIFO instead of stdin")
	if err := fs.Parse(args); err != nil {
		return UsageError(err.Error())
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return UsageError("want one log directory")
	}
	dir := fs.Arg(0)
	// The boot's knobs, read once: what /init recorded, if it ran.
	cfg, cfgErr := runstate.New(l.Run()).Config()
	script, err := loggingScript(l, cfg, cfgErr == nil)
	if err != nil {
		return err
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if uid == 0 {
		uid, gid = logger(l)
	}
	if err := makeLogDir(dir, uid, gid); err != nil {
		return err
	}
	if *fifo != "" {
		// Read and write: the FIFO never reports an end of file when its
		// writer restarts, and the open never waits for one.
		fd, err := unix.Open(*fifo, unix.O_RDWR, 0)
		if err == nil {
			err = unix.Dup3(fd, 0, 0)
			unix.Close(fd)
		}
		if err != nil {
			return fmt.Errorf("read the log lines from -f %s: %w", *fifo, err)
		}
	}
	if os.Geteuid() == 0 {
		if err := dropTo(uid, gid); err != nil {
			return err
		}
	}
	// s6-log's logdir action must start with '/' or '.'.
	if !strings.HasPrefix(dir, "/") && !strings.HasPrefix(dir, ".") {
		dir = "./" + dir
	}
	argv := append(append([]string{"s6-log", "--"}, script...), dir)
	env := []string{"PATH=" + layout.ProgramPath(os.Getenv("PATH"))}
	err = exec(layout.DefaultPrograms.S6Log, argv, env)
	return fmt.Errorf("exec %s: %w", layout.DefaultPrograms.S6Log, err)
}

// loggingScript is IGNITY_LOGGING_SCRIPT's directives: as /init recorded
// it (env files included), else from this process's environment (outside
// a booted container): booted tells whether cfg is /init's.
//
// An init script or oneshot may write it into the envdir during the boot
// (/run/s6/container_environment/S6_LOGGING_SCRIPT, as s6-overlay images
// do): what the envdir holds then wins.
func loggingScript(l layout.Layout, cfg config.Config, booted bool) ([]string, error) {
	if env, err := envload.ReadDir(l.RunEnvs()); err == nil {
		if v, ok := lastKnob(env, "IGNITY_LOGGING_SCRIPT", "S6_LOGGING_SCRIPT"); ok {
			cfg, err := config.Parse([]string{"IGNITY_LOGGING_SCRIPT=" + v})
			if err != nil {
				return nil, err
			}
			return cfg.LoggingScript, nil
		}
	}
	if booted {
		return cfg.LoggingScript, nil
	}
	cfg, err := config.Parse(os.Environ())
	if err != nil {
		// Only this knob matters here.
		errs := []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap()
		}
		for _, e := range errs {
			var ke *config.KnobError
			if errors.As(e, &ke) && ke.Knob == "IGNITY_LOGGING_SCRIPT" {
				return nil, ke
			}
		}
	}
	return cfg.LoggingScript, nil
}

// logger is the account a root logutil-service logs as.
func logger(l layout.Layout) (uid, gid int) {
	users, err := perms.ReadUsers(l.Root)
	if err == nil {
		if uid, gid, ok := users.User(loggerName); ok {
			return uid, gid
		}
	}
	return nobodyID, nobodyID
}

// makeLogDir creates dir, owned by uid:gid. As root, what s6-log keeps in
// it (current, lock, state, archives) is given to that user too, so that
// a logdir left by an earlier run as another user still works.
func makeLogDir(dir string, uid, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the log directory: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	paths := []string{dir}
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	for _, p := range paths {
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("give the log directory to %d:%d: %w", uid, gid, err)
		}
	}
	return nil
}

// dropTo makes this process uid:gid with no supplementary groups. Go's
// syscall.Setuid changes every thread of the process.
func dropTo(uid, gid int) error {
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("drop the supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("become gid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("become uid %s: %w", strconv.Itoa(uid), err)
	}
	return nil
}

// lastKnob returns the value of the first of names set in env (NAME=value
// entries; IGNITY_* wins over S6_*, as everywhere).
func lastKnob(env []string, names ...string) (string, bool) {
	for _, n := range names {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], n+"="); ok {
				return v, true
			}
		}
	}
	return "", false
}
