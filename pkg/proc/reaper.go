package proc

import (
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Reaper is the one caller of wait4(-1) in a process that adopts orphans
// (PID 1, or a child subreaper). Everything else asks it for the status of
// the children it started: a second caller of wait4 would steal statuses.
type Reaper struct {
	mu      sync.Mutex
	exited  map[int]unix.WaitStatus // statuses nobody has asked for yet
	waiters map[int][]chan unix.WaitStatus
	changed chan struct{} // closed and replaced on every reap
	none    bool          // wait4 said ECHILD: no child is left
	sigs    chan os.Signal
}

// NewReaper returns the process's one Reaper, started on the first call:
// it reaps on every SIGCHLD, children started before the call included.
// Two reapers would steal each other's statuses, so there is only one.
func NewReaper() *Reaper {
	theReaperOnce.Do(func() {
		r := &Reaper{
			exited:  make(map[int]unix.WaitStatus),
			waiters: make(map[int][]chan unix.WaitStatus),
			changed: make(chan struct{}),
			sigs:    make(chan os.Signal, 1),
		}
		signal.Notify(r.sigs, unix.SIGCHLD)
		go r.loop()
		r.reap()
		theReaper = r
	})
	return theReaper
}

var (
	theReaperOnce sync.Once
	theReaper     *Reaper
)

func (r *Reaper) loop() {
	for range r.sigs {
		r.reap()
	}
}

// reap collects every terminated child without blocking.
func (r *Reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		r.mu.Lock()
		if err == unix.ECHILD {
			r.none = true
		}
		if pid > 0 {
			r.none = false
			if ws := ws; len(r.waiters[pid]) > 0 {
				for _, c := range r.waiters[pid] {
					c <- ws
				}
				delete(r.waiters, pid)
			} else {
				r.exited[pid] = ws
			}
		}
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		if pid <= 0 {
			return
		}
	}
}

// Wait returns a channel that receives pid's wait status once it exits.
func (r *Reaper) Wait(pid int) <-chan unix.WaitStatus {
	c := make(chan unix.WaitStatus, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ws, ok := r.exited[pid]; ok {
		delete(r.exited, pid)
		c <- ws
		return c
	}
	r.waiters[pid] = append(r.waiters[pid], c)
	return c
}

// Changed returns a channel closed at the next reap: a cheap way to
// re-check a condition exactly when a process has died.
func (r *Reaper) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// WaitUntil re-checks cond every time a child dies, until it holds or the
// deadline passes, and says which. A condition about processes thus costs
// no polling: a process ending is exactly when it may have changed.
func (r *Reaper) WaitUntil(deadline time.Time, cond func() bool) bool {
	for {
		changed := r.Changed()
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(left)
		select {
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// WaitNone waits until no child is left or the deadline passes, and says
// which.
func (r *Reaper) WaitNone(deadline time.Time) bool {
	return r.WaitUntil(deadline, func() bool {
		r.reap()
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.none
	})
}
