package stages

// Stage3 runs in a child process of its own (TestMain's "stage3"): its
// reaper, the one caller of wait4(-1), would steal the statuses of every
// other test's children.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/pkg/runstate"
	"golang.org/x/sys/unix"
)

// runStage3 runs Stage3 on w's root in a child process (see TestMain),
// with stand-ins for the supervisors of dirs, and returns its exit code.
func runStage3(t *testing.T, w *world, dirs ...string) int {
	t.Helper()
	c := exec.Command(w.sys.Exe)
	c.Env = append(os.Environ(), "STAGES_TEST_AS=stage3", "ROOT="+w.root, "EXE="+w.sys.Exe, "SUPERVISE="+strings.Join(dirs, " "))
	c.Stderr = w.stderr
	err := c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return c.ProcessState.ExitCode()
}

// said is what the stand-in supervisor of dir was told.
func said(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "got"))
	return string(b)
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
			stage2 := startGroup(t, "/bin/true") // gone before stage3: nothing to wait for
			unix.Wait4(stage2, nil, 0, nil)
			if err := os.MkdirAll(w.sys.Layout.SvscanDir(), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := w.State().WriteBoot(runstate.Boot{Svscan: fakeSvscan, Stage2: stage2,
				Knobs: []string{"IGNITY_SERVICES_GRACETIME=3000", "IGNITY_KILL_GRACETIME=3000"}}); err != nil {
				t.Fatal(err)
			}
			cmd := startGroup(t, "/bin/sleep", "60")
			if err := w.State().CmdStarted(cmd); err != nil {
				t.Fatal(err)
			}
			if tt.reason != "" {
				// No s6-svscan to tell here: only the record counts.
				runstate.New(w.sys.Layout.Run()).RequestShutdown(tt.reason)
			}
			if tt.status >= 0 {
				w.State().SetExitStatus(tt.status)
			}
			web := filepath.Join(w.sys.Layout.Scandir(), "web")
			if err := os.MkdirAll(filepath.Join(web, "log"), 0o755); err != nil {
				t.Fatal(err)
			}
			marker := w.host("/finalized")
			w.file(t, "/etc/ignity/finalize/10-f", "#!/bin/sh\ntouch "+marker+"\n", 0o755)

			begin := time.Now()
			if code := runStage3(t, w, web, filepath.Join(web, "log")); code != tt.want {
				t.Errorf("Stage3 = %d, want %d\n%s", code, tt.want, w.stderr)
			}
			// Event-driven: nothing here waits out a grace time.
			if d := time.Since(begin); d > 2500*time.Millisecond {
				t.Errorf("shutdown took %v: a phase waited for its bound", d)
			}
			if got := said(web); got != "dx" {
				t.Errorf("service told %q, want dx", got)
			}
			if got := said(filepath.Join(web, "log")); got != tt.logWant {
				t.Errorf("logger told %q, want %q", got, tt.logWant)
			}
			if !exists(marker) {
				t.Error("the finalize script did not run")
			}
			var ws unix.WaitStatus
			if _, err := unix.Wait4(cmd, &ws, 0, nil); err != nil || !ws.Signaled() || ws.Signal() != unix.SIGTERM {
				t.Errorf("the CMD ended %v, %v; want killed by the SIGTERM to its group", ws, err)
			}
			wantReason := tt.reason
			if tt.reason == "" {
				wantReason = runstate.ReasonSvscanExited
			}
			if reason, _ := w.State().Stopping(); reason != wantReason {
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
	if err := w.State().WriteBoot(runstate.Boot{Svscan: fakeSvscan, Stage2: stage2, Knobs: []string{"IGNITY_SERVICES_GRACETIME=3000"}}); err != nil {
		t.Fatal(err)
	}
	if code := runStage3(t, w); code != 0 {
		t.Errorf("Stage3 = %d, want 0\n%s", code, w.stderr)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(stage2, &ws, 0, nil); err != nil || !ws.Signaled() || ws.Signal() != unix.SIGTERM {
		t.Errorf("stage2 ended %v, %v; want stopped by SIGTERM", ws, err)
	}

	w2 := newWorld(t)
	os.MkdirAll(w2.sys.Layout.SvscanDir(), 0o755)
	if code := runStage3(t, w2); code != 0 {
		t.Errorf("Stage3 without a boot record = %d", code)
	}
	w2.wantLog(t, "shutting down with the default knobs", "Sending all processes the kill signal and exiting")
}
