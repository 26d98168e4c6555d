package proc

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spawn starts path with argv and env, files as its descriptors 0, 1, 2...
// (nil: closed), and returns its pid. It is syscall.ForkExec: unlike
// os.StartProcess, it does not probe for pidfd support with an extra fork
// on a process's first start, which costs a stage about a millisecond.
func Spawn(path string, argv, env []string, files []*os.File, sys *syscall.SysProcAttr) (int, error) {
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = ^uintptr(0)
		if f != nil {
			fds[i] = f.Fd()
		}
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: env, Files: fds, Sys: sys})
	if err != nil {
		return 0, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	return pid, nil
}

// Start starts argv in a process group of its own, so that a time bound
// can kill it and everything it started, and returns its pid.
func Start(argv, env []string, files []*os.File) (int, error) {
	return Spawn(argv[0], argv, env, files, &syscall.SysProcAttr{Setpgid: true})
}

// ErrTimeout reports that a bounded run was killed at its bound.
var ErrTimeout = errors.New("timed out")

// ErrStopped reports a program stopped because the container stops.
var ErrStopped = errors.New("stopped: the container is stopping")

// Bounded waits for pid (started by Start) through wait, for at most max
// (0 = no limit). At the bound, its process group gets SIGKILL and the
// result is ErrTimeout. wait is the status source: a Reaper's Wait in a
// process that reaps everything, or WaitPid.
func Bounded(pid int, wait <-chan unix.WaitStatus, max time.Duration) (int, error) {
	if max == 0 {
		return Status(<-wait), nil
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case ws := <-wait:
		return Status(ws), nil
	case <-t.C:
		unix.Kill(-pid, unix.SIGKILL)
		return Status(<-wait), ErrTimeout
	}
}

// WaitPid waits for one child with wait4 and delivers its status: for
// processes that do not reap orphans.
func WaitPid(pid int) <-chan unix.WaitStatus {
	c := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
		c <- ws
	}()
	return c
}

// Run runs argv (argv[0] a path) in a process group of its own (Start),
// stdin from /dev/null, stdout and stderr this process's, for at most max
// (0 = no limit; at the bound the group is killed and the error is
// ErrTimeout); wait delivers its status (see Bounded). When stop
// delivers, the group gets SIGTERM and the error is ErrStopped.
func Run(argv, env []string, max time.Duration, wait func(pid int) <-chan unix.WaitStatus, stop <-chan os.Signal) (int, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	pid, err := Start(argv, env, []*os.File{null, os.Stdout, os.Stderr})
	if err != nil {
		return 0, err
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
	status, err := Bounded(pid, wait(pid), max)
	close(done)
	if <-stopped {
		return status, ErrStopped
	}
	return status, err
}
