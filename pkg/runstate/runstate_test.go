package runstate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ignity/ignity/pkg/config"
)

const (
	svscanPid = 4242
	stage2Pid = 4343
	cmdPgid   = 777
)

// signals records what a State would have sent, as "pid:SIGNAME".
type signals struct {
	mu   sync.Mutex
	sent []string
	fifo *svscanFifo
	told string // what s6-svscan's FIFO got so far
}

// aborts counts the b commands (exec stage3) s6-svscan got.
func (s *signals) aborts() int {
	s.told += s.fifo.read()
	return strings.Count(s.told, "b")
}

func (s *signals) kill(pid int, sig unix.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, fmt.Sprintf("%d:%s", pid, unix.SignalName(sig)))
	return nil
}

func (s *signals) count(what string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.sent {
		if x == what {
			n++
		}
	}
	return n
}

// svscanFifo stands in for s6-svscan's control FIFO: it counts the
// commands written there.
type svscanFifo struct{ fd int }

func listen(t *testing.T, dir string) *svscanFifo {
	t.Helper()
	p := filepath.Join(dir, "services-state", ".s6-svscan", "control")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return &svscanFifo{fd}
}

// read returns what was written to the FIFO since the last read.
func (f *svscanFifo) read() string {
	b := make([]byte, 4096)
	n, _ := unix.Read(f.fd, b)
	return string(b[:max(n, 0)])
}

// created is a fresh state with its private directory, as stage1 makes it.
func created(t *testing.T) State {
	t.Helper()
	return createdStopping(t, 0)
}

// createdStopping is a state created as /init does with
// IGNITY_CMD_STOP_SIGNAL=cmdStop (0: the default).
func createdStopping(t *testing.T, cmdStop unix.Signal) State {
	t.Helper()
	st := New(t.TempDir())
	if err := st.Create(cmdStop); err != nil {
		t.Fatal(err)
	}
	return st
}

func newState(t *testing.T) (State, *signals) {
	t.Helper()
	rec := &signals{}
	st := created(t).WithKill(rec.kill)
	rec.fifo = listen(t, st.dir)
	if err := st.WriteBoot(Boot{Svscan: svscanPid, Stage2: stage2Pid, Knobs: []string{"IGNITY_VERBOSITY=2"}}); err != nil {
		t.Fatal(err)
	}
	return st, rec
}

// TestShutdownOrdering covers every way a shutdown starts, before and
// after the CMD's group is recorded: whichever comes second, the CMD is
// stopped; s6-svscan is asked once by whoever asks through the API, and
// not at all on the paths that bypass it (stage3 records those).
func TestShutdownOrdering(t *testing.T) {
	term := fmt.Sprintf("%d:SIGTERM", -cmdPgid)
	for _, tr := range []struct {
		name   string
		start  func(st State) error
		reason string
		status int // -1: none recorded
		abort  int // b commands to s6-svscan
	}{
		{"cmd exit", func(st State) error { return st.CmdExited(3) }, ReasonCmdExited, 3, 1},
		{"SIGTERM handler", func(st State) error { return st.RequestShutdown("SIGTERM") }, "SIGTERM", -1, 1},
		{"failed boot", func(st State) error { return st.BootFailed(5) }, ReasonBootFailed, 5, 1},
		{"s6-svscanctl -t (stage3 records it)", func(st State) error {
			if _, err := st.ShutdownBegins(); err != nil {
				return err
			}
			return st.StopCmd()
		}, ReasonSvscanExited, -1, 0},
		{"request from an unrelated process", func(st State) error {
			// Another process: its own State value on the same directory.
			return New(st.dir).WithKill(st.kill).RequestShutdown("halt")
		}, "halt", -1, 1},
	} {
		for _, order := range []string{"before", "after"} {
			t.Run(tr.name+"/"+order+" the CMD's group is recorded", func(t *testing.T) {
				st, rec := newState(t)
				steps := []func() error{func() error { return st.CmdStarted(cmdPgid) }, func() error { return tr.start(st) }}
				if order == "before" {
					steps[0], steps[1] = steps[1], steps[0]
				}
				for _, f := range steps {
					if err := f(); err != nil {
						t.Fatal(err)
					}
				}
				// stage3 comes last, and stops the CMD too: it must not get
				// a second stop signal.
				if err := st.StopCmd(); err != nil {
					t.Fatal(err)
				}
				// A CMD that exited is not stopped: its group is gone.
				wantTerm := 1
				if tr.name == "cmd exit" && order == "after" {
					wantTerm = 0
				}
				if got := rec.count(term); got != wantTerm {
					t.Errorf("CMD's group got SIGTERM %d times, want %d (sent %q)", got, wantTerm, rec.sent)
				}
				if got := rec.aborts(); got != tr.abort {
					t.Errorf("%d b to s6-svscan, want %d", got, tr.abort)
				}
				if reason, ok := st.Stopping(); !ok || reason != tr.reason {
					t.Errorf("Stopping() = %q, %v; want %q", reason, ok, tr.reason)
				}
				status, ok := st.ExitStatus()
				if tr.status < 0 && ok || tr.status >= 0 && (!ok || status != tr.status) {
					t.Errorf("ExitStatus() = %d, %v; want %d", status, ok, tr.status)
				}
			})
		}
	}
}

func TestFirstWriterWins(t *testing.T) {
	st, rec := newState(t)
	if err := st.CmdExited(3); err != nil {
		t.Fatal(err)
	}
	if err := st.BootFailed(5); err != nil {
		t.Fatal(err)
	}
	if err := st.RequestShutdown("SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if n, ok := st.ExitStatus(); !ok || n != 3 {
		t.Errorf("exit status %d, %v; want the first, 3", n, ok)
	}
	if reason, _ := st.Stopping(); reason != ReasonCmdExited {
		t.Errorf("reason %q, want the first, %q", reason, ReasonCmdExited)
	}
	if n := rec.aborts(); n != 3 {
		t.Errorf("%d b to s6-svscan, want 3: every request tells it, should the first have died before it did", n)
	}
	if first, err := st.SetExitStatus(9); err != nil || first {
		t.Errorf("SetExitStatus after one = %v, %v; want not written", first, err)
	}
}

func TestOutcome(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(st State) error
		cmdRan bool
		want   int
	}{
		{"nothing recorded", func(State) error { return nil }, false, 0},
		{"status recorded", func(st State) error { _, err := st.SetExitStatus(42); return err }, true, 42},
		{"CMD killed before it recorded a status", func(st State) error { return st.CmdStarted(cmdPgid) }, true, 137},
		{"CMD started after the shutdown began", func(st State) error { return st.CmdStarted(cmdPgid) }, false, 0},
		{"exit code file written", func(st State) error { return writeExitcode(st, "42\n") }, false, 42},
		{"exit code file empty", func(st State) error { return writeExitcode(st, "") }, false, 0},
		{"exit code file not a number", func(st State) error { return writeExitcode(st, "lots") }, false, 0},
		{"recorded status beats the exit code file", func(st State) error {
			_, err := st.SetExitStatus(3)
			return errors.Join(err, writeExitcode(st, "42"))
		}, true, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := newState(t)
			if err := tt.setup(st); err != nil {
				t.Fatal(err)
			}
			if got := st.Outcome(tt.cmdRan); got != tt.want {
				t.Errorf("Outcome(%v) = %d, want %d", tt.cmdRan, got, tt.want)
			}
		})
	}
}

func TestBootRecord(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	st, _ := newState(t)
	b, err := st.ReadBoot()
	if err != nil {
		t.Fatal(err)
	}
	if b.Svscan != svscanPid || b.Stage2 != stage2Pid || strings.Join(b.Knobs, ",") != "IGNITY_VERBOSITY=2" {
		t.Errorf("ReadBoot() = %+v", b)
	}
	cfg, err := st.Config()
	if err != nil || cfg.Verbosity != 2 {
		t.Errorf("Config() = verbosity %d, %v; want 2", cfg.Verbosity, err)
	}
	fi, err := os.Stat(filepath.Join(st.stateDir(), fileBoot))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("boot record mode %v, %v; want 0644 whatever the umask: every uid reads the knobs", fi.Mode(), err)
	}
	// A command line may hold a credential: only /init's uid reads it.
	hook := Boot{Svscan: 1, Stage2: 2, Knobs: []string{"IGNITY_VERBOSITY=2", "IGNITY_STAGE2_HOOK=curl -u admin:hunter2 x"}}
	if err := st.WriteBoot(hook); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(st.stateDir(), fileBoot))
	if err != nil || strings.Contains(string(pub), "hunter2") {
		t.Errorf("the boot record every uid reads holds the stage2 hook: %q, %v", pub, err)
	}
	if fi, err := os.Stat(filepath.Join(st.stateDir(), fileSecret)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private knobs mode %v, %v; want 0600", fi.Mode(), err)
	}
	if cfg, err := st.Config(); err != nil || cfg.Stage2Hook != "curl -u admin:hunter2 x" {
		t.Errorf("Config() as the owner = hook %q, %v; want the hook back", cfg.Stage2Hook, err)
	}
	if err := st.WriteBoot(Boot{Svscan: 1, Knobs: []string{"USER=a\nb"}}); err == nil || !strings.Contains(err.Error(), `"USER"`) {
		t.Errorf("a knob with a newline: %v, want an error naming USER", err)
	}
}

func TestBadBootRecord(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"missing", "", "no such file"},
		{"bad pid", "svscan=x\n", "boot:1: want a pid"},
		{"no equals", "svscan=1\nnonsense\n", "boot:2: want NAME=value"},
		{"no svscan", "stage2=3\n", "no svscan pid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := created(t)
			if tt.body != "" {
				if err := os.WriteFile(filepath.Join(st.stateDir(), fileBoot), []byte(tt.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := st.ReadBoot()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadBoot() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWriteErrorsReturned(t *testing.T) {
	st := New(filepath.Join(t.TempDir(), "missing"))
	for name, f := range map[string]func() error{
		"WriteBoot":       func() error { return st.WriteBoot(Boot{Svscan: 1}) },
		"RequestShutdown": func() error { return st.RequestShutdown("SIGTERM") },
		"CmdStarted":      func() error { return st.CmdStarted(5) },
		"CmdExited":       func() error { return st.CmdExited(0) },
		"BootFailed":      func() error { return st.BootFailed(1) },
		"SetEarlySignal":  func() error { return st.SetEarlySignal(unix.SIGTERM) },
	} {
		if err := f(); err == nil {
			t.Errorf("%s in a missing directory: no error", name)
		}
	}
}

func TestEarlySignalFirstWins(t *testing.T) {
	st, _ := newState(t)
	if _, ok := st.EarlySignal(); ok {
		t.Fatal("an early signal before any was recorded")
	}
	for _, s := range []unix.Signal{unix.SIGINT, unix.SIGTERM} {
		if err := st.SetEarlySignal(s); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := st.EarlySignal(); got != "SIGINT" {
		t.Errorf("EarlySignal() = %q, want the first, SIGINT", got)
	}
}

// TestSignalsRealProcess: the default kill reaches a real process group
// through the recorded group, and a group already gone is no error.
func TestSignalsRealProcess(t *testing.T) {
	st := created(t)
	pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		t.Skipf("cannot start /bin/sleep: %v", err)
	}
	if err := st.CmdStarted(pid); err != nil {
		t.Fatal(err)
	}
	if err := st.StopCmd(); err != nil {
		t.Fatal(err)
	}
	done := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		done <- ws
	}()
	select {
	case ws := <-done:
		if !ws.Signaled() || ws.Signal() != unix.SIGTERM {
			t.Errorf("sleep ended %v, want killed by SIGTERM", ws)
		}
	case <-time.After(10 * time.Second):
		unix.Kill(-pid, unix.SIGKILL)
		t.Fatal("the CMD's group did not stop")
	}
	if err := st.StopCmd(); err != nil {
		t.Errorf("StopCmd of a gone group: %v", err)
	}
}

// TestStopCmdSignal: the CMD gets IGNITY_CMD_STOP_SIGNAL, whatever started
// the shutdown, then SIGCONT; SIGTERM by default.
func TestStopCmdSignal(t *testing.T) {
	for _, tt := range []struct {
		knob string
		want string
	}{
		{"", "SIGTERM"},
		{"IGNITY_CMD_STOP_SIGNAL=QUIT", "SIGQUIT"},
		{"IGNITY_CMD_STOP_SIGNAL=SIGINT", "SIGINT"},
		{"IGNITY_CMD_STOP_SIGNAL=10", "SIGUSR1"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			var knobs []string
			if tt.knob != "" {
				knobs = []string{tt.knob}
			}
			cfg, err := config.Parse(knobs) // as /init does
			if err != nil {
				t.Fatal(err)
			}
			rec := &signals{}
			st := createdStopping(t, cfg.CmdStopSignal).WithKill(rec.kill)
			rec.fifo = listen(t, st.dir)
			if err := st.WriteBoot(Boot{Svscan: svscanPid, Stage2: stage2Pid, Knobs: knobs}); err != nil {
				t.Fatal(err)
			}
			if err := st.CmdStarted(cmdPgid); err != nil {
				t.Fatal(err)
			}
			if err := st.RequestShutdown("SIGTERM"); err != nil {
				t.Fatal(err)
			}
			want := []string{fmt.Sprintf("%d:%s", -cmdPgid, tt.want), fmt.Sprintf("%d:SIGCONT", -cmdPgid)}
			if fmt.Sprint(rec.sent) != fmt.Sprint(want) || rec.aborts() != 1 {
				t.Errorf("sent %q and %d b to s6-svscan, want %q and 1", rec.sent, rec.aborts(), want)
			}
		})
	}
}

// TestCmdStopSignalFromTheRecord: the CMD gets the stop signal /init
// recorded (Create), whoever stops it, and SIGTERM when none was
// recorded; the knobs of the boot file are not read for it.
func TestCmdStopSignalFromTheRecord(t *testing.T) {
	for _, tt := range []struct {
		recorded unix.Signal
		want     string
	}{
		{unix.SIGINT, "SIGINT"},
		{0, "SIGTERM"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			rec := &signals{}
			st := createdStopping(t, tt.recorded).WithKill(rec.kill)
			rec.fifo = listen(t, st.dir)
			if err := st.WriteBoot(Boot{Svscan: svscanPid, Stage2: stage2Pid, Knobs: []string{"IGNITY_CMD_STOP_SIGNAL=QUIT"}}); err != nil {
				t.Fatal(err)
			}
			if got := st.CmdStopSignal(); unix.SignalName(got) != tt.want {
				t.Errorf("CmdStopSignal() = %v, want %s", got, tt.want)
			}
			if err := st.CmdStarted(cmdPgid); err != nil {
				t.Fatal(err)
			}
			if err := st.StopCmd(); err != nil {
				t.Fatal(err)
			}
			if err := st.RequestShutdown("test"); err != nil {
				t.Fatal(err)
			}
			want := []string{fmt.Sprintf("%d:%s", -cmdPgid, tt.want), fmt.Sprintf("%d:SIGCONT", -cmdPgid)}
			if fmt.Sprint(rec.sent) != fmt.Sprint(want) {
				t.Errorf("sent %q, want %q (once)", rec.sent, want)
			}
		})
	}
}

func writeExitcode(st State, v string) error {
	if err := st.CreateExitcode(); err != nil {
		return err
	}
	return os.WriteFile(st.path(ExitcodeFile), []byte(v), 0o644)
}

// halt records the exit code file's number before it asks for the
// shutdown, so that a CMD stopped by it does not decide the status.
func TestHalt(t *testing.T) {
	st, rec := newState(t)
	if err := writeExitcode(st, "7\n"); err != nil {
		t.Fatal(err)
	}
	if err := st.Halt(); err != nil {
		t.Fatal(err)
	}
	if n, ok := st.ExitStatus(); !ok || n != 7 {
		t.Errorf("exit status %d %v, want 7", n, ok)
	}
	if reason, _ := st.Stopping(); reason != ReasonHalt {
		t.Errorf("reason %q, want %q", reason, ReasonHalt)
	}
	if n := rec.aborts(); n != 1 {
		t.Errorf("%d b to s6-svscan, want 1", n)
	}
	if err := st.CmdExited(143); err != nil {
		t.Fatal(err)
	}
	if got := st.Outcome(true); got != 7 {
		t.Errorf("Outcome = %d, want 7", got)
	}

	bad, _ := newState(t)
	if err := writeExitcode(bad, "x"); err != nil {
		t.Fatal(err)
	}
	if err := bad.Halt(); err == nil || !strings.Contains(err.Error(), `want an exit code from 0 to 255, got "x"`) {
		t.Errorf("Halt with a bad file: %v", err)
	}
	if _, stopping := bad.Stopping(); !stopping {
		t.Error("a bad exit code file kept halt from stopping the container")
	}
}
