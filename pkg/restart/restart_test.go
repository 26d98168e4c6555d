package restart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
	"github.com/ignity/ignity/pkg/config"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/layout"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/s6"
	"golang.org/x/sys/unix"
)

// finishService is a service dir installed as stage2 installs one (s6.Wrap),
// with a user finish that records its arguments, in a layout whose boot
// state carries knobs; the test runs in the dir, as s6-supervise runs
// finish. wantUp sets s6's "wanted up" flag in supervise/status.
type finishService struct {
	sys    container.System
	dir    string
	args   string    // where the user's finish writes its arguments
	svscan *exec.Cmd // stands in for s6-svscan's pid in the boot record
	// control reads what a shutdown request wrote to s6-svscan's FIFO.
	control func() string
	sent    []string
	stderr  bytes.Buffer
}

func newFinishService(t *testing.T, wantUp bool, knobs []string, files ...string) *finishService {
	t.Helper()
	l := layout.Layout{Root: t.TempDir()}
	f := &finishService{dir: filepath.Join(l.Scandir(), "web")}
	f.args = filepath.Join(t.TempDir(), "finish-args")
	f.sys = container.Default("/usr/bin/ignity")
	f.sys.Layout = l
	f.sys.Stderr = &f.stderr
	f.sys.Kill = func(pid int, sig unix.Signal) error {
		f.sent = append(f.sent, unix.SignalName(sig))
		return unix.Kill(pid, sig)
	}
	if err := os.MkdirAll(filepath.Join(f.dir, "supervise"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.sys.State().Create(0); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("run", "#!/bin/sh\nexec sleep 1000\n", 0o755)
	write("finish", "#!/bin/sh\necho \"$@\" > "+f.args+"\nexit 7\n", 0o755)
	for _, name := range files {
		n, body, _ := strings.Cut(name, "=")
		write(n, body, 0o644)
	}
	if err := s6.Wrap(f.dir, f.sys.Exe, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	status := make([]byte, 43)
	if wantUp {
		status[42] = 1 << 2
	}
	write("supervise/status", string(status), 0o644)
	f.svscan = exec.Command("sleep", "1000")
	if err := f.svscan.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.svscan.Process.Kill(); f.svscan.Wait() })
	if err := f.sys.State().WriteBoot(runstate.Boot{Svscan: f.svscan.Process.Pid, Stage2: os.Getpid(), Knobs: knobs}); err != nil {
		t.Fatal(err)
	}
	f.control = harness.FIFOReader(t, s6.ScanControl(l.Scandir()))
	t.Chdir(f.dir)
	return f
}

// finish runs ignity's finish as s6-supervise would, for a run that
// exited code (or died of signal sig when code is 256), of group pgid.
func (f *finishService) finish(code, sig, pgid string) int {
	return ServiceFinish(f.sys, []string{code, sig, "web", pgid})
}

func (f *finishService) userArgs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(f.args)
	if err != nil {
		t.Fatalf("the user's finish did not run: %v\nstderr: %s", err, f.stderr.String())
	}
	return strings.TrimSpace(string(b))
}

// leftover starts a process in a process group of its own, as a dead
// run's leftover would be, and returns it.
func leftover(t *testing.T) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", "1000")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	return c
}

// gone reports whether c has died, reaping it.
func gone(c *exec.Cmd) bool {
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(2 * time.Second):
		return false
	}
}

func TestServiceFinishRestartable(t *testing.T) {
	f := newFinishService(t, true, nil)
	lo := leftover(t)
	pgid := strconv.Itoa(lo.Process.Pid)
	if code := f.finish("3", "0", pgid); code != 0 {
		t.Fatalf("finish of a restartable service = %d, want 0 (the user's 7 must not become s6's 125)\n%s", code, f.stderr.String())
	}
	if got := f.userArgs(t); got != "3 0 web "+pgid {
		t.Errorf("the user's finish got %q, want s6's four arguments %q", got, "3 0 web "+pgid)
	}
	if !gone(lo) {
		t.Error("the leftover of the dead run's process group is still running")
	}
	if !strings.Contains(f.stderr.String(), "web: stopped 1 leftover process(es) of its process group "+pgid) {
		t.Errorf("no leftover line in the log:\n%s", f.stderr.String())
	}
	r, ok, err := f.sys.State().Restarts("web")
	if err != nil || !ok || r.Deaths != 1 {
		t.Errorf("restarts recorded = %+v, %v, %v: want one death", r, ok, err)
	}
	if _, decided := f.sys.State().ExitStatus(); decided {
		t.Error("a restartable service's death decided the container's exit status")
	}
}

func TestServiceFinishKeepLeftovers(t *testing.T) {
	f := newFinishService(t, true, nil, s6.KeepLeftovers+"=")
	lo := leftover(t)
	f.finish("0", "0", strconv.Itoa(lo.Process.Pid))
	if err := lo.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("with keep-leftovers the leftover was stopped: %v", err)
	}
	if strings.Contains(f.stderr.String(), "leftover") {
		t.Errorf("with keep-leftovers the log says a cleanup happened:\n%s", f.stderr.String())
	}
}

func TestServiceFinishEssential(t *testing.T) {
	for _, c := range []struct {
		name, code, sig string
		want            int
	}{{"exit 3", "3", "0", 3}, {"killed by signal 9", "256", "9", 137}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFinishService(t, true, nil, s6.Essential+"=")
			if code := f.finish(c.code, c.sig, "0"); code != exitPermanent {
				t.Errorf("finish of an essential service = %d, want %d (s6: do not restart)", code, exitPermanent)
			}
			if got := f.userArgs(t); got != c.code+" "+c.sig+" web 0" {
				t.Errorf("the user's finish got %q, want s6's arguments", got)
			}
			if got, ok := f.sys.State().ExitStatus(); !ok || got != c.want {
				t.Errorf("exit status = %d, %v: want %d", got, ok, c.want)
			}
			if reason, ok := f.sys.State().Stopping(); !ok || !strings.Contains(reason, "essential service web exited") {
				t.Errorf("shutdown reason = %q, %v", reason, ok)
			}
			if got := f.control(); got != "b" {
				t.Errorf("s6-svscan was told %q, want b (exec stage3)\n%s", got, f.stderr.String())
			}
		})
	}
}

// Taken down with s6-svc -d, an essential service stops nothing.
func TestServiceFinishEssentialWantedDown(t *testing.T) {
	f := newFinishService(t, false, nil, s6.Essential+"=")
	if code := f.finish("0", "0", "0"); code != 7 {
		t.Errorf("finish = %d, want the user's 7", code)
	}
	if _, ok := f.sys.State().Stopping(); ok {
		t.Error("an essential service told down requested a shutdown")
	}
	if _, ok := f.sys.State().ExitStatus(); ok {
		t.Error("an essential service told down decided the exit status")
	}
}

func TestServiceFinishCrashLoop(t *testing.T) {
	f := newFinishService(t, true, nil, s6.MaxDeaths+"=2 60\n")
	if code := f.finish("1", "0", "0"); code != 0 {
		t.Fatalf("first death: finish = %d, want 0", code)
	}
	if _, failed := f.sys.State().Failed("web"); failed {
		t.Fatal("marked failed after one death of two allowed")
	}
	if code := f.finish("1", "0", "0"); code != exitPermanent {
		t.Errorf("second death within 60 s: finish = %d, want %d", code, exitPermanent)
	}
	why, failed := f.sys.State().Failed("web")
	if !failed || !strings.Contains(why, "died 2 times within 60 s (limit 2)") {
		t.Errorf("failed = %q, %v", why, failed)
	}
	if !strings.Contains(f.stderr.String(), "service web died 2 times within 60 s (limit 2): marked failed") {
		t.Errorf("the log does not name the failed service:\n%s", f.stderr.String())
	}
}

func TestServiceFinishBackoffWrapsRun(t *testing.T) {
	f := newFinishService(t, true, []string{"IGNITY_RESTART_BACKOFF_AFTER=1"})
	for i := range 2 {
		f.finish("1", "0", "0")
		r, _, _ := f.sys.State().Restarts("web")
		target, _ := os.Readlink("run")
		wrapped := target == f.sys.Exe
		if want := i == 1; wrapped != want || (r.Delay > 0) != want {
			t.Errorf("death %d: run -> %q, delay %d ms: want wrapped=%v\n%s", i+1, target, r.Delay, want, f.stderr.String())
		}
	}
}

// TestGroupSize counts a live process group's members, and none once its
// one member is reaped.
func TestGroupSize(t *testing.T) {
	c := exec.Command("sleep", "60")
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := c.Process.Pid
	if n := groupSize(pgid); n != 1 {
		t.Errorf("groupSize of a group of one sleep = %d, want 1", n)
	}
	c.Process.Kill()
	c.Wait()
	if n := groupSize(pgid); n != 0 {
		t.Errorf("groupSize of a reaped group = %d, want 0", n)
	}
}

// TestSchedule: the backoff as a function of the short runs so far, the
// dead run's life and the knobs.
func TestSchedule(t *testing.T) {
	knobs := func(after int, reset, max time.Duration) config.Config {
		return config.Config{BackoffAfter: after, RestartReset: reset, BackoffMax: max}
	}
	const s = time.Second
	def := knobs(3, 10*s, 30*s) // the defaults
	for _, tt := range []struct {
		name      string
		short     int
		lived     time.Duration
		cfg       config.Config
		wantShort int
		wantWait  time.Duration
	}{
		{"first short run", 0, 0, def, 1, 0},
		{"third short run: s6's pause alone", 2, s, def, 3, 0},
		{"fourth short run waits 2 s", 3, s, def, 4, 2 * s},
		{"then 4 s", 4, s, def, 5, 4 * s},
		{"then 8 s", 5, s, def, 6, 8 * s},
		{"capped at the max", 7, s, def, 8, 30 * s},
		{"long after the cap", 200, s, def, 201, 30 * s},
		{"a run as long as the reset resets", 9, 10 * s, def, 0, 0},
		{"a run just short of the reset counts", 3, 10*s - time.Millisecond, def, 4, 2 * s},
		{"after 0: the first death waits 2 s", 0, 0, knobs(0, 10*s, 4*s), 1, 2 * s},
		{"after 0: then 4 s", 1, 0, knobs(0, 10*s, 4*s), 2, 4 * s},
		{"after 0: capped at 4 s", 2, 0, knobs(0, 10*s, 4*s), 3, 4 * s},
		{"max 0: no backoff", 9, 0, knobs(0, 10*s, 0), 10, 0},
		{"reset 0: every run is long", 9, 0, knobs(0, 0, 30*s), 0, 0},
		{"a cap under 2 s", 5, 0, knobs(0, 10*s, 1500*time.Millisecond), 6, 1500 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			short, wait := schedule(tt.short, tt.lived, tt.cfg)
			if short != tt.wantShort || wait != tt.wantWait {
				t.Errorf("schedule(%d, %v) = %d, %v; want %d, %v", tt.short, tt.lived, short, wait, tt.wantShort, tt.wantWait)
			}
		})
	}
}
