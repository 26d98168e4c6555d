package proc

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Start starts argv in a process group of its own, so that a time bound
// can kill it and everything it started.
func Start(argv, env []string, files []*os.File) (*os.Process, error) {
	return os.StartProcess(argv[0], argv, &os.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
}

// ErrTimeout reports that a bounded run was killed at its bound.
var ErrTimeout = errors.New("timed out")

// Bounded waits for p (started by Start) through wait, for at most max
// (0 = no limit). At the bound, p's process group gets SIGKILL and the
// result is ErrTimeout. wait is the status source: a Reaper's Wait in a
// process that reaps everything, or WaitPid.
func Bounded(p *os.Process, wait <-chan unix.WaitStatus, max time.Duration) (int, error) {
	if max == 0 {
		return Status(<-wait), nil
	}
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case ws := <-wait:
		return Status(ws), nil
	case <-t.C:
		unix.Kill(-p.Pid, unix.SIGKILL)
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
