package bench_test

// Reading a booted container from the host: its processes are visible in
// the host's /proc under their host pids, as descendants of the harness's
// PID 1.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// process is one process of the container as the host sees it.
type process struct {
	pid, ppid int
	comm      string
}

// tree returns the process root and all its descendants, parents first.
// Processes that exit while /proc is read are simply missing.
func tree(root int) []process {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]process{}
	var top *process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := readStat(pid)
		if err != nil {
			continue
		}
		if pid == root {
			top = &p
			continue
		}
		children[p.ppid] = append(children[p.ppid], p)
	}
	if top == nil {
		return nil
	}
	out := []process{*top}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].pid]...)
	}
	return out
}

// readStat reads the parent and the command name of pid from
// /proc/PID/stat. The name is in parentheses and may itself hold ") ".
func readStat(pid int) (process, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return process{}, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return process{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return process{}, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return process{}, fmt.Errorf("/proc/%d/stat: bad ppid %q", pid, f[1])
	}
	return process{pid: pid, ppid: ppid, comm: s[open+1 : end]}, nil
}

// fileID identifies a file across mount namespaces: the container's
// /usr/bin/ignity and the host's view of it share device and inode.
type fileID struct{ dev, ino uint64 }

func idOf(path string) (fileID, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), st.Ino}, true
}

// exeID is the program pid runs: stat follows /proc/PID/exe to the file
// itself, whatever mount namespace and root the process has.
func exeID(pid int) (fileID, bool) { return idOf("/proc/" + strconv.Itoa(pid) + "/exe") }

// exeName is the base name of the program pid runs, e.g. "s6-supervise"
// for a process whose comm is a symlink's name.
func exeName(pid int) string {
	target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return "?"
	}
	return filepath.Base(strings.TrimSuffix(target, " (deleted)"))
}

// memory is one process's footprint from /proc/PID/smaps_rollup, in KiB
// (the kernel's "kB").
type memory struct {
	rss, pss, private int
}

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return memory{}, err
	}
	var m memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		switch f[0] {
		case "Rss:":
			m.rss = n
		case "Pss:":
			m.pss = n
		case "Private_Clean:", "Private_Dirty:":
			m.private += n
		}
	}
	return m, sc.Err()
}

// footprint is what the init costs in a running container: every process
// except the services (what s6-supervise runs, and their children) and
// the CMD (the process running the cmd program, and its children).
type footprint struct {
	procs   []procMemory // counted processes
	goProcs int          // processes running the ignity binary
}

type procMemory struct {
	binary string
	memory
}

func (f footprint) total() memory {
	var t memory
	for _, p := range f.procs {
		t.rss += p.rss
		t.pss += p.pss
		t.private += p.private
	}
	return t
}

// measureFootprint reads the container whose PID 1 has host pid root.
// cmd and ignity identify the CMD's program and ignity's binary.
func measureFootprint(root int, cmd, ignity fileID) (footprint, error) {
	procs := tree(root)
	if len(procs) == 0 {
		return footprint{}, fmt.Errorf("pid %d is gone", root)
	}
	// Parents come first: whether a process counts depends on its parent.
	excluded, supervisor := map[int]bool{}, map[int]bool{}
	var f footprint
	for _, p := range procs {
		id, _ := exeID(p.pid)
		if id == ignity {
			f.goProcs++
		}
		// A supervisor's children are its service (or logger), unless it
		// runs ignity's binary: the log prefixer, ignity's own service.
		if excluded[p.ppid] || (supervisor[p.ppid] && id != ignity) || id == cmd {
			excluded[p.pid] = true
			continue
		}
		name := exeName(p.pid)
		if name == "s6-supervise" {
			supervisor[p.pid] = true
		}
		m, err := readMemory(p.pid)
		if errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrNotExist) {
			// It exited meanwhile (a transient process of the boot's end):
			// missing, as in tree.
			continue
		}
		if err != nil {
			return footprint{}, fmt.Errorf("%s (pid %d): %w", name, p.pid, err)
		}
		f.procs = append(f.procs, procMemory{name, m})
	}
	return f, nil
}

// servicesUp counts the services that run their final program: "sleep"
// processes whose parent is an s6-supervise.
func servicesUp(procs []process) int {
	supervisors := map[int]bool{}
	for _, p := range procs {
		if p.comm == "s6-supervise" {
			supervisors[p.pid] = true
		}
	}
	n := 0
	for _, p := range procs {
		if p.comm == "sleep" && supervisors[p.ppid] {
			n++
		}
	}
	return n
}
