// Package proc owns processes: exit statuses as a shell reports them,
// the one reaper of a PID 1, signalling every process ignity is
// responsible for, and running a program with a time bound.
package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Status turns a wait status into an exit code: the code itself, or
// 128+n when the process died of signal n, as sh and Docker report it.
func Status(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// ExeclineStatus turns execline's "?" into an exit code: wait -o gives
// the code or 128+n for a death by signal n; foreground gives 256+n,
// which becomes 128+n too.
func ExeclineStatus(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errors.New("bad exit status " + strconv.Quote(v))
	}
	if n >= 256 {
		return 128 + (n - 256), nil
	}
	return n, nil
}

// Descendants lists every process below pid, read from /proc.
func Descendants(pid int) []int {
	byParent := make(map[int][]int)
	for _, p := range all() {
		byParent[p.ppid] = append(byParent[p.ppid], p.pid)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range byParent[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// SignalAll sends sig to every process ignity answers for. As PID 1 that is
// kill(-1): every process of the namespace but PID 1 itself. Anywhere else
// (docker run --init, a shared pid namespace) kill(-1) would reach the
// host's or other containers' processes, so only our own descendants are
// signalled; as a child subreaper they include every orphan below us.
func SignalAll(sig unix.Signal) error {
	if os.Getpid() == 1 {
		err := unix.Kill(-1, sig)
		if errors.Is(err, unix.ESRCH) {
			return nil
		}
		return err
	}
	for _, pid := range Descendants(os.Getpid()) {
		unix.Kill(pid, sig)
	}
	return nil
}

// Stat is what ignity reads of a process in /proc/PID/stat.
type Stat struct {
	State byte // R, S, D, Z, ...
	PPID  int
	PGRP  int
}

// ReadStat reads /proc/PID/stat. The command name is in parentheses and
// may hold spaces or parentheses itself: the fields start after the last ')'.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 3 || len(f[0]) != 1 {
		return Stat{}, errors.New("unreadable /proc/" + strconv.Itoa(pid) + "/stat")
	}
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	return Stat{State: f[0][0], PPID: ppid, PGRP: pgrp}, nil
}

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	st, err := ReadStat(pid)
	return err == nil && st.State != 'Z'
}

// Pids lists every process of the namespace: the numeric names of /proc.
func Pids() ([]int, error) {
	dirs, err := os.ReadDir("/proc")
	var out []int
	for _, d := range dirs {
		if pid, err := strconv.Atoi(d.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out, err
}

type entry struct{ pid, ppid int }

func all() []entry {
	pids, _ := Pids()
	var out []entry
	for _, pid := range pids {
		if st, err := ReadStat(pid); err == nil {
			out = append(out, entry{pid, st.PPID})
		}
	}
	return out
}

// OpenOnto opens the file name read-write as descriptor fd (0, 1 or 2),
// for the program this process execs next. On a FIFO, read-write never
// blocks, whichever side opens first, and holds the pipe open: a reader
// reads no end of file when a writer restarts.
func OpenOnto(name string, fd int) error {
	f, err := unix.Open(name, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(f)
	if err := unix.Dup3(f, fd, 0); err != nil {
		return fmt.Errorf("redirect fd %d to %s: %w", fd, name, err)
	}
	return nil
}
