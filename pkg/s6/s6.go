// Package s6 talks to s6: it writes commands into the control FIFOs of
// s6-svscan and s6-supervise (the protocol s6-svscanctl and s6-svc speak),
// tells whether a supervisor listens, and installs service directories
// into the scandir.
package s6

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/ignity/ignity/pkg/confdir"
	"golang.org/x/sys/unix"
)

// Send writes cmd into the control FIFO fifo. It fails at once, without
// blocking, when nobody reads it (the supervisor is not running).
func Send(fifo, cmd string) error {
	fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENXIO {
			return fmt.Errorf("send %q to %s: supervisor not listening", cmd, fifo)
		}
		return fmt.Errorf("send %q to %s: %w", cmd, fifo, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(cmd)); err != nil {
		return fmt.Errorf("send %q to %s: %w", cmd, fifo, err)
	}
	return nil
}

// Listening reports whether a process reads fifo: s6-svok's test.
func Listening(fifo string) bool {
	fd, err := unix.Open(fifo, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// Control is the control FIFO of the s6-supervise running on dir.
func Control(dir string) string { return filepath.Join(dir, "supervise", "control") }

// ScanControl is the control FIFO of the s6-svscan running on scandir.
func ScanControl(scandir string) string { return filepath.Join(scandir, ".s6-svscan", "control") }

// Supervised reports whether an s6-supervise runs on dir and has
// announced its first state: s6-supervise opens its control FIFO before it
// writes supervise/status, and s6-svstat and s6-svwait fail until that
// file exists, so a listening FIFO alone is not enough.
func Supervised(dir string) bool {
	if !Listening(Control(dir)) {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "supervise", "status"))
	return err == nil
}

// WaitSupervised polls until every service dir is Supervised or the
// deadline passes, and returns those that are not. s6-svscan starts the
// supervisors asynchronously and s6-supervise announces nothing before
// its status file, so this is a poll, with a short interval that grows to
// 10ms.
func WaitSupervised(dirs []string, deadline time.Time) []string {
	pause := 200 * time.Microsecond
	for {
		var left []string
		for _, d := range dirs {
			if !Supervised(d) {
				left = append(left, d)
			}
		}
		if len(left) == 0 || !time.Now().Before(deadline) {
			return left
		}
		dirs = left
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

// ServiceDir is one service directory in the scandir.
type ServiceDir struct {
	Name   string
	Dir    string // path in the scandir
	Logged bool   // has a log/ subdirectory: s6-svscan supervises a logger
	Down   bool   // has a down file: not started automatically
	Notify bool   // has notification-fd: "ready" is meaningful
}

// List reads the service dirs of scandir, in name order, skipping dot names.
func List(scandir string) ([]ServiceDir, error) {
	entries, err := confdir.Read(scandir)
	if err != nil {
		return nil, err
	}
	var out []ServiceDir
	for _, e := range entries {
		name := e.Name()
		dir := filepath.Join(scandir, name)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, ServiceDir{
			Name:   name,
			Dir:    dir,
			Logged: isDir(filepath.Join(dir, "log")),
			Down:   exists(filepath.Join(dir, "down")),
			Notify: exists(filepath.Join(dir, "notification-fd")),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Install makes the service dir dir (ignity's own copy) live: it fills in
// the defaults below, then moves it into the scandir as name. A rename
// creates no file: on a disk that charges for every inode, that matters
// for a hundred services.
//
// Unless the dir (or its log/) sets one, timeout-kill is written from
// grace: s6-svscan -t waits for every service to die, forever for one that
// ignores SIGTERM, unless timeout-kill bounds it. A grace of 0 means "kill
// at once", which s6 spells as 1 ms (0 would mean never).
//
// (s6's lock-fd would keep a respawned s6-supervise from starting a second
// copy of a service still running. In Debian's s6 2.13.1.0 it does not:
// s6-supervise opens supervise/service-lock without creating it and waits
// 60 s before every start when it is missing; and when it is there,
// s6-setlock -d takes the lock, dup2s it to lock-fd and closes the
// original descriptor, which releases the fcntl lock before the service
// runs. So it is not set.)
func Install(dir, scandir, name string, grace time.Duration) error {
	timeout := []byte(strconv.FormatInt(max(grace.Milliseconds(), 1), 10) + "\n")
	for _, d := range []string{dir, filepath.Join(dir, "log")} {
		if !isDir(d) {
			continue
		}
		// supervise/ made before s6-supervise does, searchable by every
		// uid (s6-svperms -o's mode): its status is then readable by ignity
		// health from any uid. s6-supervise keeps a supervise/ it finds.
		// It is the directory s6-supervise would create anyway: no extra inode.
		if err := os.Mkdir(filepath.Join(d, "supervise"), 0o711); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.Chmod(filepath.Join(d, "supervise"), 0o711); err != nil {
			return err
		}
		p := filepath.Join(d, "timeout-kill")
		if exists(p) {
			continue
		}
		if err := os.WriteFile(p, timeout, 0o644); err != nil {
			return err
		}
	}
	return os.Rename(dir, filepath.Join(scandir, name))
}

// LinkPrograms replaces the programs of the service dir dir (run, finish,
// health, and those of log/) by symlinks to the same files under origin, the
// image's copy. For a scandir on a noexec mount: exec resolves symlinks,
// so the programs then run from the image's filesystem.
func LinkPrograms(dir, origin string) error {
	var errs []error
	for _, rel := range []string{"run", "finish", "health", "log/run", "log/finish"} {
		src := filepath.Join(origin, rel)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		dst := filepath.Join(dir, rel)
		os.Remove(dst)
		errs = append(errs, os.Symlink(src, dst))
	}
	return errors.Join(errs...)
}

// Noexec reports whether dir is on a filesystem mounted noexec.
func Noexec(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Flags&unix.ST_NOEXEC != 0
}

// CopyTree copies src (followed if it is a symlink) to dst, keeping modes;
// symlinks below src are copied as symlinks, other special files skipped.
func CopyTree(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return copyFile(src, dst, st.Mode())
	}
	if err := os.MkdirAll(dst, st.Mode().Perm()); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		switch t := e.Type(); {
		case t&os.ModeSymlink != 0:
			target, err := os.Readlink(s)
			if err == nil {
				err = os.Symlink(target, d)
			}
			errs = append(errs, err)
		case t.IsDir():
			errs = append(errs, CopyTree(s, d))
		case t.IsRegular():
			info, err := e.Info()
			if err == nil {
				err = copyFile(s, d, info.Mode())
			}
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Chmod(dst, st.Mode().Perm())
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, mode.Perm()); err != nil {
		return err
	}
	return os.Chmod(dst, mode.Perm())
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// The files ignity adds to its copy of a service dir (Wrap) so that its
// own finish runs on every death of run, and its run wrapper during a
// restart backoff. The user's programs keep working under these names.
const (
	RunUser           = "run.user"            // the service's own run (a hard link)
	FinishUser        = "finish.user"         // the service's own finish, when it has one
	TimeoutFinishUser = "timeout-finish.user" // the service's own timeout-finish, when it has one
	Essential         = "essential"           // a file: the container stops when run dies
	KeepLeftovers     = "keep-leftovers"      // a file: no cleanup of run's process group
	MaxDeaths         = "max-deaths"          // "DEATHS SECONDS": the crash-loop limit
	// FunnelIn is a funnel consumer's FIFO, its stdin; FunnelOut, in each
	// of its producers, a symlink to it, their stdout.
	FunnelIn  = ".ignity-funnel"
	FunnelOut = ".ignity-feeds"
	// PwdFile holds the path an s6-overlay service is told it runs in
	// (PWD).
	PwdFile = ".ignity-pwd"
)

// DefaultTimeoutFinish is s6's bound on finish when timeout-finish is
// absent (ms).
const DefaultTimeoutFinish = 5000

// finishMargin is what ignity's own finish may take beyond the cleanup
// grace and the user's finish: its start and its bookkeeping (ms).
const finishMargin = 1000

// Wrap makes ignity's program exe the finish of the service dir dir (its
// copy under /run/ignity, never the image's): the user's finish becomes
// finish.user, run gets a hard link run.user (ignity swaps run for exe
// while a restart waits, see SetRunWrapped), and timeout-finish covers
// the cleanup of run's process group (grace) plus the user's finish, its
// own timeout-finish (kept as timeout-finish.user) or s6's 5000 ms. A
// user's timeout-finish of 0 (no limit) stays 0. dir's programs may be
// symlinks (LinkPrograms, on a noexec mount): links keep them so.
func Wrap(dir, exe string, grace time.Duration) error {
	user := int64(DefaultTimeoutFinish)
	tf := filepath.Join(dir, "timeout-finish")
	if b, err := os.ReadFile(tf); err == nil {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		if user, err = strconv.ParseInt(string(line), 10, 64); err != nil {
			return fmt.Errorf("%s: want a number of milliseconds, got %q", tf, line)
		}
		if err := os.Rename(tf, filepath.Join(dir, TimeoutFinishUser)); err != nil {
			return err
		}
	}
	if exists(filepath.Join(dir, "finish")) {
		if err := os.Rename(filepath.Join(dir, "finish"), filepath.Join(dir, FinishUser)); err != nil {
			return err
		}
	}
	if err := os.Link(filepath.Join(dir, "run"), filepath.Join(dir, RunUser)); err != nil {
		return err
	}
	if err := os.Symlink(exe, filepath.Join(dir, "finish")); err != nil {
		return err
	}
	total := int64(0)
	if user > 0 {
		total = user + grace.Milliseconds() + finishMargin
	}
	return os.WriteFile(tf, []byte(strconv.FormatInt(total, 10)+"\n"), 0o644)
}

// SetRunWrapped makes dir's run the program exe (wrapped: ignity's run
// wrapper, which waits for the backoff then execs run.user) or the
// user's run again, atomically (a rename): s6-supervise spawns whichever
// is there when finish ends.
func SetRunWrapped(dir, exe string, wrapped bool) error {
	run, tmp := filepath.Join(dir, "run"), filepath.Join(dir, ".run.new")
	os.Remove(tmp)
	var err error
	if wrapped {
		err = os.Symlink(exe, tmp)
	} else {
		err = os.Link(filepath.Join(dir, RunUser), tmp)
	}
	if err == nil {
		err = os.Rename(tmp, run)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", run, err)
	}
	return nil
}

// WantedUp reads s6-supervise's supervise/status of dir: whether s6 still
// wants the service up (s6-svc -d clears it; -r keeps it).
func WantedUp(dir string) (bool, error) {
	st, err := ReadStatus(dir)
	if err != nil {
		return false, err
	}
	return st.WantUp, nil
}
