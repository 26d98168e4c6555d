package stages

// Stage3 starts a reaper, the one caller of wait4(-1), which stays for
// the rest of the test binary: these tests run last (go test runs files
// in name order), after every test that waits for a child of its own.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/proc"
	"github.com/ignity/ignity/pkg/runstate"
	"golang.org/x/sys/unix"
)

// supervisor stands in for an s6-supervise on the service dir dir, as a
// child process (its death is what stage3 waits for): it reads its
// control FIFO until told to exit. The returned function says what it got.
func supervisor(t *testing.T, w *world, dir string) func() string {
	t.Helper()
	fifo := filepath.Join(dir, "supervise", "control")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(dir, "got")
	pid, err := syscall.ForkExec(w.sys.Exe, []string{"supervisor"}, &syscall.ProcAttr{
		Env: append(os.Environ(), "STAGES_TEST_AS=supervisor", "FIFO="+fifo, "GOT="+got)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Kill(pid, unix.SIGKILL) })
	poll(t, 10*time.Second, "supervisor stand-in ready", func() bool { return exists(got + ".ready") })
	return func() string {
		b, _ := os.ReadFile(got)
		return string(b)
	}
}

func TestStage3(t *testing.T) {
	for _, tt := range []struct {
		name    string
		reason  string // requested before stage3; "" for s6-svscanctl -t
		status  int    // recorded before stage3; -1 for none
		want    int
		logWant string // what the logger is told
	}{
		{"s6-svscanctl -t, the CMD killed", "", -1, 137, "x"},
		{"SIGQUIT, status recorded", "SIGQUIT", 3, 3, "dx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.realKill = true
			stage2 := startGroup(t, "/bin/true")
			if err := os.MkdirAll(w.sys.Layout.SvscanDir(), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := w.state().WriteBoot(runstate.Boot{Svscan: fakeSvscan, Stage2: stage2,
				Knobs: []string{"IGNITY_SERVICES_GRACETIME=3000", "IGNITY_KILL_GRACETIME=3000"}}); err != nil {
				t.Fatal(err)
			}
			cmd := startGroup(t, "/bin/sleep", "60")
			if err := w.state().CmdStarted(cmd); err != nil {
				t.Fatal(err)
			}
			if tt.reason != "" {
				os.WriteFile(w.host("/run/ignity/.shutdown"), []byte(tt.reason+"\n"), 0o644)
			}
			if tt.status >= 0 {
				w.state().SetExitStatus(tt.status)
			}
			web := filepath.Join(w.sys.Layout.Scandir(), "web")
			if err := os.MkdirAll(filepath.Join(web, "log"), 0o755); err != nil {
				t.Fatal(err)
			}
			service, logger := supervisor(t, w, web), supervisor(t, w, filepath.Join(web, "log"))
			marker := w.host("/finalized")
			w.file(t, "/etc/ignity/finalize/10-f", "#!/bin/sh\ntouch "+marker+"\n", 0o755)

			begin := time.Now()
			if code := Stage3(w.sys); code != tt.want {
				t.Errorf("Stage3 = %d, want %d\n%s", code, tt.want, w.stderr)
			}
			// Event-driven: nothing here waits out a grace time.
			if d := time.Since(begin); d > 2500*time.Millisecond {
				t.Errorf("shutdown took %v: a phase waited for its bound", d)
			}
			if got := service(); got != "dx" {
				t.Errorf("service told %q, want dx", got)
			}
			if got := logger(); got != tt.logWant {
				t.Errorf("logger told %q, want %q", got, tt.logWant)
			}
			if !exists(marker) {
				t.Error("the finalize script did not run")
			}
			if proc.Alive(cmd) {
				t.Error("the CMD survived the shutdown")
			}
			if !w.killed("-" + itoa(cmd) + ":SIGTERM") {
				t.Errorf("the CMD's group got no SIGTERM: %q", w.kills)
			}
			wantReason := tt.reason
			if wantReason == "" {
				wantReason = runstate.ReasonSvscanExited
			}
			if reason, _ := w.state().Stopping(); reason != wantReason {
				t.Errorf("reason %q, want %q", reason, wantReason)
			}
			out := w.stderr.String()
			last := -1
			for _, l := range []string{"Executing environment finalize scripts...", "Waiting for services",
				"Sending all processes the termination signals", "Sending all processes the kill signal and exiting"} {
				i := strings.Index(out, "[supervisor/finalize] "+l)
				if i < last {
					t.Errorf("%q missing or out of order:\n%s", l, out)
				}
				last = i
			}
			w.wantLog(t, "[supervisor/finalize] Finalize scripts executed")
		})
	}
}

// TestStage3StopsTheBoot: without a CMD, stage2 still booting gets
// SIGTERM; a missing boot record falls back to the defaults, said.
func TestStage3StopsTheBoot(t *testing.T) {
	w := newWorld(t)
	if err := os.MkdirAll(w.sys.Layout.SvscanDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	stage2 := startGroup(t, "/bin/sleep", "60")
	defer unix.Kill(stage2, unix.SIGKILL)
	if err := w.state().WriteBoot(runstate.Boot{Svscan: fakeSvscan, Stage2: stage2, Knobs: []string{"IGNITY_SERVICES_GRACETIME=3000"}}); err != nil {
		t.Fatal(err)
	}
	w.realKill = true
	if code := Stage3(w.sys); code != 0 {
		t.Errorf("Stage3 = %d, want 0\n%s", code, w.stderr)
	}
	if !w.killed(itoa(stage2) + ":SIGTERM") {
		t.Errorf("stage2 not told to stop: %q", w.kills)
	}

	w2 := newWorld(t)
	os.MkdirAll(w2.sys.Layout.SvscanDir(), 0o755)
	if code := Stage3(w2.sys); code != 0 {
		t.Errorf("Stage3 without a boot record = %d", code)
	}
	w2.wantLog(t, "shutting down with the default knobs", "Sending all processes the kill signal and exiting")
}

func itoa(n int) string { return strconv.Itoa(n) }
