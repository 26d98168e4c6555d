package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary impersonate a subreaper helper.
func TestMain(m *testing.M) {
	if os.Getenv("PROC_TEST_HELPER") == "reaper" {
		os.Exit(reaperHelper())
	}
	os.Exit(m.Run())
}

func TestStatus(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script string
		want   int
	}{
		{"exit 0", "exit 0", 0},
		{"exit 3", "exit 3", 3},
		{"killed by TERM", "kill -TERM $$", 143},
		{"killed by KILL", "kill -KILL $$", 137},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Start([]string{"/bin/sh", "-c", tt.script}, nil, []*os.File{nil, os.Stdout, os.Stderr})
			if err != nil {
				t.Fatal(err)
			}
			if got := Status(<-WaitPid(p)); got != tt.want {
				t.Errorf("Status = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestExeclineStatus(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"0", 0, false}, {"42", 42, false}, {"255", 255, false},
		{"271", 143, false}, {"265", 137, false},
		{"", 0, true}, {"x", 0, true}, {"-1", 0, true},
	} {
		got, err := ExeclineStatus(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ExeclineStatus(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBoundedKillsTheGroup(t *testing.T) {
	// The child starts a grandchild in its group: the bound kills both.
	p, err := Start([]string{"/bin/sh", "-c", "sleep 30 & wait"}, nil, []*os.File{nil, os.Stdout, os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, err := Bounded(p, WaitPid(p), 100*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || status != 137 {
		t.Fatalf("Bounded = %d, %v; want 137, ErrTimeout", status, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Bounded took %v", d)
	}
	// SIGKILL is delivered asynchronously, and the orphaned sleep may
	// linger as a zombie until whoever adopts it reaps it; what matters is
	// that nothing of the group still runs, soon.
	deadline := time.Now().Add(5 * time.Second)
	for live := liveInGroup(p); len(live) > 0; live = liveInGroup(p) {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of group %d still alive 5 s after the bound", live, p)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBoundedNoLimit(t *testing.T) {
	p, err := Start([]string{"/bin/sh", "-c", "exit 5"}, nil, []*os.File{nil, os.Stdout, os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := Bounded(p, WaitPid(p), 0); status != 5 || err != nil {
		t.Errorf("Bounded = %d, %v; want 5, nil", status, err)
	}
}

func TestRetry(t *testing.T) {
	dir := t.TempDir()
	count := dir + "/count"
	var log strings.Builder
	// Fails twice, then succeeds.
	script := fmt.Sprintf(`echo x >> %s; [ $(wc -l < %s) -ge 3 ]`, count, count)
	if got := Retry([]string{"sh", "-c", script}, os.Environ(), 5, time.Second, &log); got != 0 {
		t.Errorf("Retry = %d, want 0", got)
	}
	if b, _ := os.ReadFile(count); strings.Count(string(b), "x") != 3 {
		t.Errorf("ran %d times, want 3", strings.Count(string(b), "x"))
	}
	if got := Retry([]string{"sh", "-c", "exit 4"}, os.Environ(), 1, time.Second, &log); got != 4 {
		t.Errorf("Retry of a failing program = %d, want 4", got)
	}
	if got := Retry([]string{"no-such-program-here"}, os.Environ(), 1, time.Second, &log); got != 127 {
		t.Errorf("Retry of a missing program = %d, want 127", got)
	}
}

func TestDescendants(t *testing.T) {
	c := exec.Command("/bin/sh", "-c", "sleep 30 & echo $!; wait")
	out, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	var grandchild int
	fmt.Fscan(out, &grandchild)
	d := Descendants(os.Getpid())
	has := func(pid int) bool {
		for _, p := range d {
			if p == pid {
				return true
			}
		}
		return false
	}
	if !has(c.Process.Pid) || !has(grandchild) {
		t.Errorf("Descendants = %v, want %d and %d in it", d, c.Process.Pid, grandchild)
	}
	unix.Kill(grandchild, unix.SIGKILL)
}

// TestReaperAdoptsOrphans runs a helper that is a child subreaper: it
// starts a shell that leaves an orphan behind, gets the shell's status
// from the Reaper, and waits until the orphan is reaped too.
func TestReaperAdoptsOrphans(t *testing.T) {
	c := exec.Command("/proc/self/exe", "-test.run=^$")
	c.Env = append(os.Environ(), "PROC_TEST_HELPER=reaper")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "shell 7, none left true" {
		t.Errorf("helper said %q", got)
	}
}

func reaperHelper() int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Println(err)
		return 1
	}
	r := NewReaper()
	p, err := Start([]string{"/bin/sh", "-c", "sleep 0.2 & exit 7"}, nil, []*os.File{nil, nil, os.Stderr})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	status := Status(<-r.Wait(p))
	none := r.WaitNone(time.Now().Add(5 * time.Second))
	fmt.Printf("shell %d, none left %v\n", status, none)
	return 0
}

// liveInGroup lists the processes of group pgid that are not zombies.
func liveInGroup(pgid int) []int {
	var live []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscan(d.Name(), &pid); err != nil {
			continue
		}
		if st, err := ReadStat(pid); err == nil && st.State != 'Z' && st.PGRP == pgid {
			live = append(live, pid)
		}
	}
	return live
}

func TestReadStat(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil || st.PPID != os.Getppid() || st.State == 'Z' || !Alive(os.Getpid()) {
		t.Errorf("ReadStat(self) = %+v, %v; want ppid %d, alive", st, err, os.Getppid())
	}
	if Alive(1 << 30) {
		t.Error("Alive of a pid that cannot exist")
	}
}

// TestExeclineStatusAll: every code foreground can report comes out as a
// shell reports it: 0..255 unchanged, 256+n (signal n) as 128+n.
func TestExeclineStatusAll(t *testing.T) {
	for n := 0; n < 256; n++ {
		if got, err := ExeclineStatus(fmt.Sprint(n)); got != n || err != nil {
			t.Errorf("ExeclineStatus(%d) = %d, %v", n, got, err)
		}
	}
	for sig := 1; sig < 65; sig++ {
		if got, err := ExeclineStatus(fmt.Sprint(256 + sig)); got != 128+sig || err != nil {
			t.Errorf("ExeclineStatus(%d) = %d, %v; want %d", 256+sig, got, err, 128+sig)
		}
	}
}

// TestExec: 127 for what is not there, 126 for what is there but cannot
// be executed, each said differently; a file without #! runs with /bin/sh.
func TestExec(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(dir+"/"+name, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("plain", "echo hi\n", 0o755)
	write("notexec", "#!/bin/sh\n", 0o644)
	write("badinterp", "#!/no/such/interp\n", 0o755)
	os.Mkdir(dir+"/adir", 0o755)
	env := []string{"PATH=" + dir}
	var ran [][]string
	fake := func(path string, argv, env []string) error {
		ran = append(ran, append([]string{path}, argv...))
		switch path {
		case dir + "/plain":
			return unix.ENOEXEC
		case dir + "/badinterp":
			return unix.ENOENT
		}
		return errors.New("stop")
	}
	for _, tt := range []struct {
		argv []string
		code int
		why  string
	}{
		{[]string{"nothere"}, 127, "not found in PATH=" + dir},
		{[]string{dir + "/nothere"}, 127, "not found"},
		{[]string{"notexec"}, 126, "permission denied: not executable (chmod +x it)"},
		{[]string{dir + "/adir"}, 126, "is a directory"},
		{[]string{"badinterp"}, 127, "its interpreter /no/such/interp (the #! line) is not found"},
		{[]string{"plain", "a"}, 126, "/bin/sh cannot run it"},
	} {
		ran = nil
		err := Exec(tt.argv, env, fake)
		var e *ExecError
		if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Why, tt.why) {
			t.Errorf("Exec(%q) = %v, want code %d and %q", tt.argv, err, tt.code, tt.why)
		}
		if tt.argv[0] == "plain" && (len(ran) != 2 || strings.Join(ran[1], " ") != "/bin/sh sh "+dir+"/plain a") {
			t.Errorf("a file without #! ran as %q, want /bin/sh sh PATH a", ran)
		}
	}
}

func TestPids(t *testing.T) {
	pids, err := Pids()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, os.Getpid()) || !slices.Contains(pids, os.Getppid()) {
		t.Errorf("Pids() = %v: want this process %d and its parent %d among them", pids, os.Getpid(), os.Getppid())
	}
}

// TestOpenOnto: a FIFO opened onto a descriptor before any reader opens
// it (read-write does not block), and what is written there reaches the
// reader; a missing file is an error naming it.
func TestOpenOnto(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	const fd = 200
	if err := OpenOnto(fifo, fd); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := unix.Write(fd, []byte("line\n")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(r, b); err != nil || string(b) != "line\n" {
		t.Fatalf("read %q, %v; want the line written onto fd %d", b, err, fd)
	}
	missing := filepath.Join(t.TempDir(), "none")
	if err := OpenOnto(missing, fd); !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), missing) {
		t.Errorf("OpenOnto of a missing file: %v, want ENOENT naming it", err)
	}
}
