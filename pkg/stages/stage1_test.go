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
	"github.com/ignity/ignity/pkg/console"
	"github.com/ignity/ignity/pkg/container"
	"golang.org/x/sys/unix"
)

func names(steps []step) string {
	s := make([]string, len(steps))
	for i, st := range steps {
		s[i] = st.String()
	}
	return strings.Join(s, " → ")
}

// TestStepOrder pins each stage's table of contents: the order is the
// design (DESIGN.md's process model), and a reordering must be deliberate.
func TestStepOrder(t *testing.T) {
	for _, tt := range []struct {
		stage string
		steps []step
		want  string
	}{
		{"stage1", (&stage1{}).steps(), "become a subreaper unless PID 1 → give scripts /bin/execlineb → check the configuration → load the env files → reset /run/ignity → make s6-overlay's paths → start stage2 → record the boot state → write the envdir → apply the perms → warn when a stop may outlast docker stop → seed the scandir → hand the early signals over → exec s6-svscan"},
		{"stage2", (&stage2{}).steps(), "wait until s6-svscan is ready → read the boot state → replay an early signal → run the stage2 hook → apply fix-attrs.d → copy the scripts and services into /run/ignity → take the start plan and ready its longruns → run the init scripts → install the services → start the dependents as their dependencies start → wait for the services → start the CMD"},
		{"stage3", (&stage3{}).steps(), "catch every signal → read the configuration → record the shutdown → stop the CMD, or the boot → read the environment of the finalize scripts → run the finalize scripts while the services stop → sync the disks → stop the log prefixer, once the services are down → send every process SIGTERM → send every process SIGKILL → read s6-overlay's exit code file"},
	} {
		if got := names(tt.steps); got != tt.want {
			t.Errorf("%s steps:\n got %s\nwant %s", tt.stage, got, tt.want)
		}
	}
}

// TestStage1 boots to the exec of s6-svscan, which the test stands in for.
func TestStage1(t *testing.T) {
	w := newWorld(t)
	t.Setenv("STAGES_TEST_AS", "stage2")
	t.Setenv("IGNITY_SERVICES_GRACETIME", "")
	t.Setenv("SECRET_TOKEN", "hunter2")
	w.file(t, "/etc/ignity/envs/10-app", "IGNITY_KILL_GRACETIME=1234\nAPP_MODE=prod\n", 0o644)
	w.file(t, "/etc/ignity/services/web/run", "#!/bin/sh\nexec true\n", 0o755)
	w.file(t, "/run/ignity/stale-from-last-run", "x", 0o644)

	code := Stage1(w.sys, []string{"echo", "hi"})
	if code != container.ExitSystem {
		t.Fatalf("Stage1 = %d, want %d after the stubbed exec\n%s", code, container.ExitSystem, w.stderr)
	}
	w.wantLog(t, "[supervisor/env] Loading environment files", "[supervisor/env] Environment files loaded", "exec stubbed by the test")

	argv := w.lastExec()
	if len(argv) != 7 || argv[0] != w.sys.Programs.Svscan || argv[1] != "s6-svscan" || argv[2] != "-d" || argv[4] != "-C" || argv[5] != "256" || argv[6] != w.sys.Layout.Scandir() {
		t.Fatalf("exec %q, want s6-svscan -d FD -C 256 %s", argv, w.sys.Layout.Scandir())
	}
	if fd, _ := strconv.Atoi(argv[3]); fd < 3 {
		t.Errorf("ready fd %q", argv[3])
	}
	if exists(w.host("/run/ignity/stale-from-last-run")) {
		t.Error("the previous run's state survived the reset")
	}
	b, err := w.State().ReadBoot()
	if err != nil {
		t.Fatal(err)
	}
	if b.Svscan != os.Getpid() || b.Stage2 <= 0 {
		t.Errorf("boot record %+v: want s6-svscan = this pid %d, and stage2's", b, os.Getpid())
	}
	knobs := strings.Join(b.Knobs, "\n")
	if !strings.Contains(knobs, "IGNITY_KILL_GRACETIME=1234") || strings.Contains(knobs, "hunter2") || strings.Contains(knobs, "APP_MODE") {
		t.Errorf("boot record knobs %q: want the env file's knob, and no other variable", knobs)
	}
	// The start plan of the check's definitions, for stage2 and after.
	if plan, ok, err := w.State().Plan(); !ok || err != nil || len(plan.Units) != 1 || plan.Units[0].Name != "web" {
		t.Errorf("recorded plan %+v (%v, %v): want web alone", plan, ok, err)
	}
	if v, err := os.ReadFile(w.host("/run/ignity/envs/APP_MODE")); err != nil || string(v) != "prod" {
		t.Errorf("envdir APP_MODE = %q, %v", v, err)
	}
	for _, h := range []string{"finish", "crash"} {
		target, err := os.Readlink(filepath.Join(w.sys.Layout.SvscanDir(), h))
		if want := w.sys.Programs.Stage3; err != nil || target != want {
			t.Errorf(".s6-svscan/%s -> %q, %v; want the stage3 script %s", h, target, err, want)
		}
	}
	for _, h := range []string{"SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH"} {
		target, err := os.Readlink(filepath.Join(w.sys.Layout.SvscanDir(), h))
		if err != nil || target != w.sys.Exe {
			t.Errorf(".s6-svscan/%s -> %q, %v; want the binary", h, target, err)
		}
	}
	// SIGTERM's handler is no Go process: the tarball's execline script.
	if target, err := os.Readlink(filepath.Join(w.sys.Layout.SvscanDir(), "SIGTERM")); err != nil || target != w.sys.Programs.StopHandler {
		t.Errorf(".s6-svscan/SIGTERM -> %q, %v; want %s", target, err, w.sys.Programs.StopHandler)
	}
	// stage2 was started, and ends once the ready pipe's last writer is
	// gone (the stubbed s6-svscan never writes).
	var ws unix.WaitStatus
	if _, err := unix.Wait4(b.Stage2, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		t.Errorf("stage2 helper: %v, %v", ws, err)
	}
}

func TestStage1Failures(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		code  int
		want  string
	}{
		{"bad env file", func(t *testing.T, w *world) {
			w.file(t, "/etc/ignity/envs/20-bad", "GOOD=1\n1BAD=x\n", 0o644)
		}, container.ExitUsage, "/etc/ignity/envs/20-bad:2"},
		{"bad knob", func(t *testing.T, w *world) {
			t.Setenv("IGNITY_KILL_GRACETIME", "soon")
		}, container.ExitUsage, `IGNITY_KILL_GRACETIME="soon"`},
		{"script not executable", func(t *testing.T, w *world) {
			w.file(t, "/etc/ignity/init/10-plain", "#!/bin/sh\n", 0o644)
		}, container.ExitUsage, "ignity: error: /etc/ignity/init/10-plain: not executable"},
		{"run not writable", func(t *testing.T, w *world) {
			os.RemoveAll(w.host("/run/ignity"))
			w.file(t, "/run/ignity", "a file, not a directory", 0o644)
		}, container.ExitSystem, "must be writable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			t.Setenv("STAGES_TEST_AS", "stage2")
			tt.setup(t, w)
			if code := Stage1(w.sys, nil); code != tt.code {
				t.Errorf("Stage1 = %d, want %d\n%s", code, tt.code, w.stderr)
			}
			w.wantLog(t, tt.want)
			if w.lastExec() != nil {
				t.Errorf("s6-svscan exec'd after a failure: %q", w.lastExec())
			}
		})
	}
}

// TestCheckWarningsAtBoot: problems `ignity check` finds print at boot
// as ignity: warning: lines, and the boot goes on.
func TestCheckWarningsAtBoot(t *testing.T) {
	w := newWorld(t)
	t.Setenv("STAGES_TEST_AS", "stage2")
	t.Setenv("IGNITY_KILL_GRACE_TIME", "1")
	Stage1(w.sys, nil)
	w.wantLog(t, "ignity: warning: environment: unknown knob IGNITY_KILL_GRACE_TIME")
	if w.lastExec() == nil {
		t.Error("a warning stopped the boot")
	}
}

// TestEarlySignals: a terminating signal before s6-svscan is ready is
// kept, the first one, whatever comes before or after it; the others are
// dropped with a debug line.
func TestEarlySignals(t *testing.T) {
	for _, tt := range []struct {
		name string
		sigs []unix.Signal
		want unix.Signal
	}{
		{"hang-up alone", []unix.Signal{unix.SIGHUP}, 0},
		{"hang-up then TERM", []unix.Signal{unix.SIGHUP, unix.SIGTERM}, unix.SIGTERM},
		{"TERM then hang-up", []unix.Signal{unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1}, unix.SIGTERM},
		{"INT then QUIT", []unix.Signal{unix.SIGINT, unix.SIGQUIT}, unix.SIGINT},
		{"window changes", []unix.Signal{unix.SIGWINCH, unix.SIGUSR2}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			log := console.To(&out, 2)
			e := &early{}
			for _, s := range tt.sigs {
				e.receive(s, log)
			}
			if got := e.terminating(); got != tt.want {
				t.Errorf("terminating() = %v, want %v", got, tt.want)
			}
			for _, s := range tt.sigs {
				dropped := fmt.Sprintf("[supervisor/signal] debug: %s before s6-svscan is ready: dropped", unix.SignalName(s))
				isTerm := s == unix.SIGTERM || s == unix.SIGINT || s == unix.SIGQUIT
				if got := strings.Contains(out.String(), dropped); got == isTerm {
					t.Errorf("%s: dropped line present = %v\n%s", unix.SignalName(s), got, out.String())
				}
			}
		})
	}
}

// TestEarlySignalCaught: a real signal to the process reaches the early
// collector (not Go's default, which would exit).
func TestEarlySignalCaught(t *testing.T) {
	var out syncBuffer
	e := catchEarly(console.To(&out, 2))
	unix.Kill(os.Getpid(), unix.SIGUSR1)
	unix.Kill(os.Getpid(), unix.SIGTERM)
	harness.PollUntil(t, 5*time.Second, "SIGTERM recorded", func() bool { return e.terminating() == unix.SIGTERM })
	harness.PollUntil(t, 5*time.Second, "SIGUSR1 dropped line", func() bool {
		return strings.Contains(out.String(), "SIGUSR1 before s6-svscan is ready: dropped")
	})
}

func TestScanMax(t *testing.T) {
	dir := t.TempDir()
	if got := scanMax(dir); got != minScanSlots {
		t.Errorf("scanMax(empty) = %d, want the floor %d", got, minScanSlots)
	}
	for i := 0; i < 600; i++ {
		os.Mkdir(filepath.Join(dir, strconv.Itoa(i)), 0o755)
	}
	if got := scanMax(dir); got != 1210 {
		t.Errorf("scanMax(600 services) = %d, want 1210 (a logger each, and room)", got)
	}
}

// TestExeclineb: /bin/execlineb is made, as a copy, where /bin is a real
// directory without it; never on a usrmerged image or over what exists.
func TestExeclineb(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		want  string // content of /bin/execlineb after the step, "" for none
	}{
		{"real /bin without it", func(t *testing.T, w *world) {}, "#!exec"},
		{"already there", func(t *testing.T, w *world) { w.file(t, "/bin/execlineb", "mine", 0o755) }, "mine"},
		{"usrmerged", func(t *testing.T, w *world) {
			os.RemoveAll(w.host("/bin"))
			os.Symlink("usr/bin", w.host("/bin"))
		}, "#!exec"}, // /bin/execlineb is /usr/bin/execlineb itself
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.file(t, "/usr/bin/execlineb", "#!exec", 0o755)
			tt.setup(t, w)
			b := &stage1{sys: w.sys, log: console.To(w.stderr, 2)}
			if err := b.execlineb(); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(w.host("/bin/execlineb"))
			if tt.name != "usrmerged" && (err != nil || !fi.Mode().IsRegular()) {
				t.Fatalf("/bin/execlineb: %v, %v; want a regular file", fi, err)
			}
			if got, _ := os.ReadFile(w.host("/bin/execlineb")); string(got) != tt.want {
				t.Errorf("/bin/execlineb holds %q, want %q", got, tt.want)
			}
			if left, _ := filepath.Glob(w.host("/bin/.execlineb*")); len(left) > 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}
