// Package svc talks to s6: it writes commands into the control FIFOs of
// s6-svscan and s6-supervise (the protocol s6-svscanctl and s6-svc speak),
// tells whether a supervisor listens, and installs service directories
// into the scandir.
package svc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

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

// Service is one service directory in the scandir.
type Service struct {
	Name   string
	Dir    string // path in the scandir
	Logged bool   // has a log/ subdirectory: s6-svscan supervises a logger
	Down   bool   // has a down file: not started automatically
	Notify bool   // has notification-fd: "ready" is meaningful
}

// List reads the service dirs of scandir, in name order, skipping dot names.
func List(scandir string) ([]Service, error) {
	entries, err := os.ReadDir(scandir)
	if err != nil {
		return nil, err
	}
	var out []Service
	for _, e := range entries {
		name := e.Name()
		if name[0] == '.' {
			continue
		}
		dir := filepath.Join(scandir, name)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, Service{
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
