package cmdrun

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/systest"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/runstate"
)

func TestExit(t *testing.T) {
	for _, tt := range []struct {
		question string
		want     int
		log      string
	}{
		{"3", 3, "[supervisor/cmd] sleep 'a b' exited 3"},
		{"143", 143, "exited 143"},
		{"265", 137, "exited 137"}, // foreground's 256+9
		{"nonsense", container.ExitSystem, "ignity: error: cmd-exit:"},
	} {
		t.Run(tt.question, func(t *testing.T) {
			w := systest.Booted(t)
			if err := w.State().CmdStarted(55); err != nil {
				t.Fatal(err)
			}
			t.Setenv("?", tt.question)
			if code := Exit(w.Sys, []string{"sleep", "a b"}); code != 0 {
				t.Errorf("Exit = %d\n%s", code, w.Stderr())
			}
			if n, ok := w.State().ExitStatus(); !ok || n != tt.want {
				t.Errorf("exit status %d, %v; want %d", n, ok, tt.want)
			}
			if _, ok := w.State().CmdGroup(); ok {
				t.Error("the CMD's group is still recorded after it exited")
			}
			if reason, _ := w.State().Stopping(); reason != runstate.ReasonCmdExited || !strings.Contains(w.Scan(), "b") {
				t.Errorf("reason %q: want the shutdown requested", reason)
			}
			w.WantLog(t, tt.log)
		})
	}
}

func TestExitQuietAtVerbosity0(t *testing.T) {
	w := systest.Booted(t, "IGNITY_VERBOSITY=0")
	t.Setenv("?", "0")
	os.Unsetenv("IGNITY_VERBOSITY")
	Exit(w.Sys, []string{"true"})
	if s := w.Stderr(); s != "" {
		t.Errorf("IGNITY_VERBOSITY=0 recorded at boot, yet cmd-exit said %q", s)
	}
}

// TestLost: the waiter died before the CMD's status was recorded: the
// container stops with 111, the CMD gets its stop signal, and the log
// says why; once a status was recorded, nothing happens.
func TestLost(t *testing.T) {
	w := systest.Booted(t, "IGNITY_VERBOSITY=0", "IGNITY_CMD_STOP_SIGNAL=USR2")
	if err := w.State().CmdStarted(55); err != nil {
		t.Fatal(err)
	}
	if code := Lost(w.Sys, []string{"77", "--", "sleep", "1"}); code != 0 {
		t.Errorf("Lost = %d\n%s", code, w.Stderr())
	}
	if n, ok := w.State().ExitStatus(); !ok || n != container.ExitSystem {
		t.Errorf("exit status %d, %v; want %d", n, ok, container.ExitSystem)
	}
	if reason, _ := w.State().Stopping(); reason != ReasonWaiterLost {
		t.Errorf("reason %q, want %q", reason, ReasonWaiterLost)
	}
	if got, want := fmt.Sprint(w.Kills()), "[-55:SIGUSR2 -55:SIGCONT]"; got != want {
		t.Errorf("sent %s, want %s", got, want)
	}
	w.WantLog(t, "[supervisor/cmd] the waiter of sleep 1 (pid 77) died before the CMD's exit was recorded: stopping the container with status 111")

	again := systest.Booted(t)
	if _, err := again.State().SetExitStatus(3); err != nil {
		t.Fatal(err)
	}
	if code := Lost(again.Sys, []string{"77", "--", "sleep", "1"}); code != 0 || again.Stderr() != "" {
		t.Errorf("Lost after a recorded status = %d, said %q", code, again.Stderr())
	}
}

func TestPidAndCmd(t *testing.T) {
	for _, tt := range []struct {
		args []string
		pid  int
		cmd  string
	}{
		{[]string{"12", "--", "sleep", "1"}, 12, "[sleep 1]"},
		{[]string{"--", "true"}, 0, "[true]"},
		{[]string{"sleep", "1"}, 0, "[sleep 1]"},
		{nil, 0, "[]"},
	} {
		pid, cmd := pidAndCmd(tt.args)
		if pid != tt.pid || fmt.Sprint(cmd) != tt.cmd {
			t.Errorf("pidAndCmd(%q) = %d, %q; want %d, %s", tt.args, pid, cmd, tt.pid, tt.cmd)
		}
	}
}
