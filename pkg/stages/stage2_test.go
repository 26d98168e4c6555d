package stages

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/runstate"
	"github.com/ignity/ignity/pkg/services"
	"golang.org/x/sys/unix"
)

const fakeSvscan = 999999 // never a real pid here: kill is recorded

// booted prepares what stage1 leaves for stage2: /run/ignity with the boot
// record, s6-svscan's control FIFO (read by the test) and the ready pipe.
func booted(t *testing.T, w *world, knobs ...string) (ready *os.File, scan func() string) {
	t.Helper()
	// stage1 writes the envdir, which stage2 re-reads after each script.
	for _, d := range []string{w.sys.Layout.SvscanDir(), w.sys.Layout.RunEnvs()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.State().WriteBoot(runstate.Boot{Svscan: fakeSvscan, Stage2: os.Getpid(), Knobs: knobs}); err != nil {
		t.Fatal(err)
	}
	raw := harness.FIFOReader(t, filepath.Join(w.sys.Layout.SvscanDir(), "control"))
	w.svscan = raw
	scan = func() string {
		s := raw()
		w.mu.Lock()
		w.told += s
		w.mu.Unlock()
		return s
	}
	return readyPipe(t, true), scan
}

// runStage2 runs stage2 on w as it runs after stage1, which records the
// start plan of the definitions w holds by then (recordPlan).
func runStage2(t *testing.T, w *world, cmd []string, ready *os.File) int {
	t.Helper()
	recordPlan(t, w)
	return Stage2(w.sys, cmd, ready)
}

// recordPlan records the start plan of w's definitions, as stage1 does.
func recordPlan(t *testing.T, w *world) {
	t.Helper()
	defs, probs := services.Load(w.sys.Layout.Root, "")
	plan, more := services.MakePlan(defs)
	if probs = append(probs, more...); len(probs) > 0 {
		t.Fatalf("the definitions have problems: %v", probs)
	}
	if err := w.State().SetPlan(plan); err != nil {
		t.Fatal(err)
	}
}

// abortSvscan stands, in w.killed, for b on s6-svscan's control FIFO:
// exec stage3 now.
const abortSvscan = "s6-svscan told b"

// TestStage2 runs a whole boot: init scripts in order, services into the
// scandir, the scan request, then the CMD and the exec of its waiter.
func TestStage2(t *testing.T) {
	w := newWorld(t)
	ready, scan := booted(t, w)
	log := w.host("/order")
	w.file(t, "/etc/ignity/init/20-second", "#!/bin/sh\necho second >>"+log+"\n", 0o755)
	w.file(t, "/etc/ignity/init/10-first", "#!/bin/sh\necho first >>"+log+"\n", 0o755)
	w.file(t, "/etc/ignity/init/.hidden", "#!/bin/sh\necho hidden >>"+log+"\n", 0o755)
	w.file(t, "/etc/ignity/services/web/run", "#!/bin/sh\nexec true\n", 0o755)
	w.file(t, "/etc/ignity/finalize/10-f", "#!/bin/sh\n", 0o755)

	w.sys.Programs.Withstdinas = w.file(t, "/fake/withstdinas", "#!/bin/sh\nexec cat >/dev/null\n", 0o755)
	code := runStage2(t, w, []string{"true"}, ready)
	if code != container.ExitSystem {
		t.Fatalf("Stage2 = %d, want %d after the stubbed exec of wait\n%s", code, container.ExitSystem, w.stderr)
	}
	if b, _ := os.ReadFile(log); string(b) != "first\nsecond\n" {
		t.Errorf("init scripts ran %q, want first then second, no dot file", b)
	}
	w.wantLog(t, "[supervisor/init] Executing environment init scripts", "[supervisor/init] Environment init scripts executed",
		"[supervisor/service] Starting services", "[supervisor/service] Services started")
	// The scan request, then b: the stubbed exec of the waiter failed the boot.
	if got := scan(); got != "ab" {
		t.Errorf("s6-svscan got %q, want a scan request, then b", got)
	}
	scandir := w.sys.Layout.Scandir()
	if b, err := os.ReadFile(filepath.Join(scandir, "web", "timeout-kill")); err != nil || string(b) != "5000\n" {
		t.Errorf("web/timeout-kill = %q, %v; want IGNITY_SERVICES_GRACETIME's 5000", b, err)
	}
	if target, err := os.Readlink(w.sys.Layout.RunServices()); err != nil || target != "services-state" {
		t.Errorf("/run/ignity/services -> %q, %v", target, err)
	}
	if !exists(w.host("/run/ignity/finalize/10-f")) {
		t.Error("finalize scripts not copied")
	}

	argv := w.lastExec()
	fd := argv[4]
	want := []string{w.sys.Programs.Foreground, "foreground", " " + w.sys.Exe, " cmd-start", fd, " --", " true", "", filepath.Join(filepath.Dir(w.sys.Programs.Foreground), "export"), "GOMAXPROCS", "1", w.sys.Exe, "cmd-exit", argv[13], "--", "true"}
	if strings.Join(argv, "|") != strings.Join(want, "|") {
		t.Fatalf("exec %q,\nwant %q", argv, want)
	}
	// The watcher runs, reading the pipe whose write end the waiter gets;
	// the failed exec kills it and fails the boot.
	watcher, _ := strconv.Atoi(argv[13])
	if !w.killed(fmt.Sprintf("%d:SIGKILL", watcher)) || !w.killed(abortSvscan) {
		t.Errorf("after the failed exec: kills %q", w.kills)
	}
	if n, _ := w.State().ExitStatus(); n != container.ExitSystem {
		t.Errorf("exit status %d, want %d", n, container.ExitSystem)
	}
	unix.Kill(watcher, unix.SIGKILL)
	var ws unix.WaitStatus
	unix.Wait4(watcher, &ws, 0, nil)
}

func TestStage2Stops(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(t *testing.T, w *world)
		cmd    []string
		code   int
		status int // -1: none recorded
		log    string
		abort  bool
	}{
		{"early signal", func(t *testing.T, w *world) {
			w.State().SetEarlySignal(unix.SIGTERM)
		}, []string{"true"}, 0, -1, "", true},
		{"init script fails", func(t *testing.T, w *world) {
			w.file(t, "/etc/ignity/init/10-fail", "#!/bin/sh\nexit 4\n", 0o755)
		}, []string{"true"}, 4, 4, "ignity: error: init script /etc/ignity/init/10-fail exited 4: the container stops", true},
		{"init script fails, policy continues", func(t *testing.T, w *world) {
			w.file(t, "/etc/ignity/init/10-fail", "#!/bin/sh\nexit 4\n", 0o755)
		}, nil, 0, -1, "ignity: warning: init script /etc/ignity/init/10-fail exited 4: continuing", false},
		{"init script times out", func(t *testing.T, w *world) {
			w.file(t, "/etc/ignity/init/10-hang", "#!/bin/sh\nexec sleep 60\n", 0o755)
		}, nil, 137, 137, "init script /etc/ignity/init/10-hang killed after IGNITY_INIT_MAXTIME=50 ms", true},
		{"service without run", func(t *testing.T, w *world) {
			w.file(t, "/etc/ignity/services/broken/finish", "#!/bin/sh\n", 0o755)
		}, nil, container.ExitUsage, container.ExitUsage, "service /etc/ignity/services/broken", true},
		{"no CMD", func(t *testing.T, w *world) {}, nil, 0, -1, "[supervisor/service] Services started", false},
		{"shutdown requested during the boot", func(t *testing.T, w *world) {
			// A request as another process would make it: the reason in
			// the record, in place (sed keeps its length).
			w.file(t, "/etc/ignity/init/10-halt", "#!/bin/sh\nsed -i 's/^reason=    /reason=halt/' "+w.host("/run/ignity/.state/record")+"\n", 0o755)
			w.file(t, "/etc/ignity/init/20-never", "#!/bin/sh\ntouch "+w.host("/never")+"\n", 0o755)
		}, []string{"true"}, 0, -1, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			knobs := []string{"IGNITY_INIT_MAXTIME=50"}
			if strings.Contains(tt.name, "policy continues") {
				knobs = append(knobs, "IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=1")
			}
			ready, _ := booted(t, w, knobs...)
			tt.setup(t, w)
			if code := runStage2(t, w, tt.cmd, ready); code != tt.code {
				t.Errorf("Stage2 = %d, want %d\n%s", code, tt.code, w.stderr)
			}
			status, ok := w.State().ExitStatus()
			if tt.status < 0 && ok || tt.status >= 0 && status != tt.status {
				t.Errorf("exit status %d, %v; want %d", status, ok, tt.status)
			}
			if tt.log != "" {
				w.wantLog(t, tt.log)
			}
			if got := w.killed(abortSvscan); got != tt.abort {
				t.Errorf("s6-svscan asked to stop: %v, want %v (kills %q)", got, tt.abort, w.kills)
			}
			if w.lastExec() != nil {
				t.Errorf("the CMD's waiter was exec'd: %q", w.lastExec())
			}
			if exists(w.host("/never")) {
				t.Error("the boot went on after a shutdown request")
			}
		})
	}
}

// TestStage2NotReady: s6-svscan never said it is ready (stage1 failed):
// stage2 ends quietly, having run nothing.
func TestStage2NotReady(t *testing.T) {
	w := newWorld(t)
	w.file(t, "/etc/ignity/init/10-x", "#!/bin/sh\ntouch "+w.host("/ran")+"\n", 0o755)
	if code := Stage2(w.sys, []string{"true"}, readyPipe(t, false)); code != 0 {
		t.Errorf("Stage2 = %d, want 0", code)
	}
	if exists(w.host("/ran")) || w.stderr.String() != "" {
		t.Errorf("stage2 ran or said something without s6-svscan:\n%s", w.stderr)
	}
}

// TestStage2BeforeSvscanReads: s6-svscan makes its control FIFO before
// it opens it. A FIFO with no reader then is no shutdown to stage2, until
// s6-svscan said it is ready (stage2 ended quietly, hanging the
// container, when it took that FIFO for s6-svscan gone).
func TestStage2BeforeSvscanReads(t *testing.T) {
	w := newWorld(t)
	if err := os.MkdirAll(w.sys.Layout.SvscanDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.State().WriteBoot(runstate.Boot{Svscan: fakeSvscan, Stage2: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(w.sys.Layout.SvscanDir(), "control"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &stage2{sys: w.sys, st: w.State(), ready: readyPipe(t, true)}
	if b.stopping() {
		t.Error("before s6-svscan is ready, a FIFO with no reader reads as a shutdown")
	}
	if err := b.awaitSvscan(); err != nil {
		t.Fatal(err)
	}
	if !b.stopping() {
		t.Error("once s6-svscan was ready, a FIFO with no reader (s6-svscan exec'd its finish) is not a shutdown")
	}
}

// TestStage2TermStopsInitScript: stage3's SIGTERM to a booting stage2
// stops the running init script at once, and the boot goes no further.
func TestStage2TermStopsInitScript(t *testing.T) {
	w := newWorld(t)
	ready, _ := booted(t, w)
	started := w.host("/started")
	w.file(t, "/etc/ignity/init/10-long", "#!/bin/sh\ntouch "+started+"\nexec sleep 60\n", 0o755)
	w.file(t, "/etc/ignity/init/20-never", "#!/bin/sh\ntouch "+w.host("/never")+"\n", 0o755)
	done := make(chan int, 1)
	begin := time.Now()
	recordPlan(t, w)
	go func() { done <- Stage2(w.sys, []string{"true"}, ready) }()
	harness.PollUntil(t, 10*time.Second, "init script started", func() bool { return exists(started) })
	unix.Kill(os.Getpid(), unix.SIGTERM)
	select {
	case code := <-done:
		if code != 0 || exists(w.host("/never")) {
			t.Errorf("Stage2 = %d, never-script ran: %v", code, exists(w.host("/never")))
		}
		if time.Since(begin) > 30*time.Second {
			t.Errorf("the init script was not stopped")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("stage2 did not stop on SIGTERM")
	}
}

// TestWaitServices: the CMD waits for the services through s6-svwait and
// s6-svstat, stand-ins here; a service not up fails the boot with exit 1,
// named.
func TestWaitServices(t *testing.T) {
	for _, tt := range []struct {
		name   string
		svwait string
		code   int
	}{
		{"up", "#!/bin/sh\nexit 0\n", container.ExitSystem}, // then the stubbed exec of the CMD's waiter fails
		{"not up", "#!/bin/sh\nexit 1\n", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ready, _ := booted(t, w, "IGNITY_CMD_WAIT_FOR_SERVICES=1", "IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=2000")
			w.sys.Programs.Svwait = w.file(t, "/fake/s6-svwait", tt.svwait, 0o755)
			w.sys.Programs.Svstat = w.file(t, "/fake/s6-svstat", "#!/bin/sh\necho false false\n", 0o755)
			w.file(t, "/etc/ignity/services/db/run", "#!/bin/sh\n", 0o755)
			w.file(t, "/etc/ignity/services/db/notification-fd", "3\n", 0o644)
			// s6-supervise's traces: a control FIFO with a reader and a
			// status file, behind a symlink, which the copy into the
			// scandir keeps (it skips FIFOs).
			w.file(t, "/fake/supervise/status", "", 0o644)
			harness.FIFOReader(t, w.host("/fake/supervise/control"))
			if err := os.Symlink(w.host("/fake/supervise"), w.host("/etc/ignity/services/db/supervise")); err != nil {
				t.Fatal(err)
			}
			if code := runStage2(t, w, []string{"true"}, ready); code != tt.code {
				t.Fatalf("Stage2 = %d, want %d\n%s", code, tt.code, w.stderr)
			}
			if tt.code == 1 {
				w.wantLog(t, "services not up within IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=2000: db")
			}
		})
	}
}
