package stages

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"golang.org/x/sys/unix"
)

// The test binary stands in for ignity itself where a stage starts it
// (stage1 starts stage2): with STAGES_TEST_AS set it is that helper.
func TestMain(m *testing.M) {
	switch os.Getenv("STAGES_TEST_AS") {
	case "":
		os.Exit(m.Run())
	case "stage2":
		// stage1's child: it reads the ready pipe's end and exits, as a
		// stage2 whose s6-svscan never came up.
		b := make([]byte, 1)
		os.NewFile(3, "ready").Read(b)
		os.Exit(0)
	case "stage3":
		// stage3 in a process of its own, since its reaper then owns every
		// child: first the stand-ins for s6-supervise, its children as in a
		// container, then Stage3 itself.
		for _, dir := range strings.Fields(os.Getenv("SUPERVISE")) {
			startSupervisor(dir)
		}
		sys := container.Default(os.Getenv("EXE"))
		sys.Layout = layout.Layout{Root: os.Getenv("ROOT")}
		os.Exit(Stage3(sys))
	case "supervisor":
		// An s6-supervise's control FIFO reader: it reads until it is told
		// to exit ("x"), writes what it got to $GOT, and exits.
		fd, err := unix.Open(os.Getenv("FIFO"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
		if err != nil {
			os.Exit(111)
		}
		os.WriteFile(os.Getenv("GOT")+".ready", nil, 0o644)
		var got string
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(got, "x") && time.Now().Before(deadline) {
			b := make([]byte, 64)
			if n, _ := unix.Read(fd, b); n > 0 {
				got += string(b[:n])
			}
			time.Sleep(time.Millisecond)
		}
		os.WriteFile(os.Getenv("GOT"), []byte(got), 0o644)
		os.Exit(0)
	}
	os.Exit(3)
}

// startSupervisor starts this binary as a stand-in for an s6-supervise on
// the service dir dir, and waits until it reads its control FIFO.
func startSupervisor(dir string) (int, error) {
	fifo := filepath.Join(dir, "supervise", "control")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		return 0, err
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		return 0, err
	}
	got := filepath.Join(dir, "got")
	exe, _ := os.Executable()
	// The first of duplicate names wins in a raw environment: no copy of
	// STAGES_TEST_AS may come before this one.
	env := []string{"STAGES_TEST_AS=supervisor", "FIFO=" + fifo, "GOT=" + got}
	pid, err := syscall.ForkExec(exe, []string{"supervisor"}, &syscall.ProcAttr{Env: env})
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(10 * time.Second); !exists(got+".ready") && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return pid, nil
}

// world is a container.System over a temporary root, with exec and kill recorded.
type world struct {
	sys    container.System
	root   string
	stderr *syncBuffer
	mu     sync.Mutex
	execs  [][]string // path, then argv
	kills  []string   // "pid:SIGNAME"
	// realKill also sends the signals kill records.
	realKill bool
	// svscan reads what was written to s6-svscan's control FIFO since the
	// last read (booted makes it); told keeps it all.
	svscan func() string
	told   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	root := t.TempDir()
	w := &world{root: root, stderr: &syncBuffer{}}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w.sys = container.System{
		Layout:   layout.Layout{Root: root},
		Programs: layout.DefaultPrograms,
		Exe:      exe,
		Exec: func(path string, argv, env []string) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.execs = append(w.execs, append([]string{path}, argv...))
			return errExecStubbed
		},
		Kill: func(pid int, sig unix.Signal) error {
			w.mu.Lock()
			w.kills = append(w.kills, fmt.Sprintf("%d:%s", pid, unix.SignalName(sig)))
			real := w.realKill
			w.mu.Unlock()
			if real {
				return unix.Kill(pid, sig)
			}
			return nil
		},
		Stderr: w.stderr,
	}
	// The interpreter of the test scripts, as check.Program looks for it
	// inside the root; the kernel runs the host's.
	w.file(t, "/bin/sh", "", 0o755)
	// The private state, as stage1's resetRun makes it.
	if err := os.MkdirAll(w.sys.Layout.Run(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.State().Create(0); err != nil {
		t.Fatal(err)
	}
	return w
}

var errExecStubbed = errors.New("exec stubbed by the test")

func (w *world) State() runstate.State { return w.sys.State() }

// file writes body at the in-root path p.
func (w *world) file(t *testing.T, p, body string, mode os.FileMode) string {
	t.Helper()
	host := filepath.Join(w.root, p)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(host, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return host
}

func (w *world) host(p string) string { return filepath.Join(w.root, p) }

func (w *world) killed(what string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if what == abortSvscan {
		if w.svscan != nil {
			w.told += w.svscan()
		}
		return strings.Contains(w.told, "b")
	}
	for _, k := range w.kills {
		if k == what {
			return true
		}
	}
	return false
}

func (w *world) lastExec() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.execs) == 0 {
		return nil
	}
	return w.execs[len(w.execs)-1]
}

func (w *world) wantLog(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(w.stderr.String(), l) {
			t.Errorf("log lacks %q:\n%s", l, w.stderr.String())
		}
	}
}

// readyPipe is s6-svscan's ready pipe, read end, with ready written when
// the fake s6-svscan is to be ready.
func readyPipe(t *testing.T, ready bool) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if ready {
		w.Write([]byte("\n"))
	}
	w.Close()
	return r
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// syncBuffer is a bytes.Buffer safe for the goroutines of a stage.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startGroup starts argv in a process group of its own.
func startGroup(t *testing.T, argv ...string) int {
	t.Helper()
	pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Env: os.Environ(), Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		t.Fatal(err)
	}
	return pid
}
