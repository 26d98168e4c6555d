package stages

import (
	"os"
	"testing"

	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/runstate"
)

func TestCmdExit(t *testing.T) {
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
			w := newWorld(t)
			booted(t, w)
			if err := w.State().CmdStarted(55); err != nil {
				t.Fatal(err)
			}
			t.Setenv("?", tt.question)
			if code := CmdExit(w.sys, []string{"sleep", "a b"}); code != 0 {
				t.Errorf("CmdExit = %d\n%s", code, w.stderr)
			}
			if n, ok := w.State().ExitStatus(); !ok || n != tt.want {
				t.Errorf("exit status %d, %v; want %d", n, ok, tt.want)
			}
			if _, ok := w.State().CmdGroup(); ok {
				t.Error("the CMD's group is still recorded after it exited")
			}
			if reason, _ := w.State().Stopping(); reason != runstate.ReasonCmdExited || !w.killed(abortSvscan) {
				t.Errorf("reason %q, kills %q: want the shutdown requested", reason, w.kills)
			}
			w.wantLog(t, tt.log)
		})
	}
}

func TestCmdExitQuietAtVerbosity0(t *testing.T) {
	w := newWorld(t)
	booted(t, w, "IGNITY_VERBOSITY=0")
	t.Setenv("?", "0")
	os.Unsetenv("IGNITY_VERBOSITY")
	CmdExit(w.sys, []string{"true"})
	if s := w.stderr.String(); s != "" {
		t.Errorf("IGNITY_VERBOSITY=0 recorded at boot, yet cmd-exit said %q", s)
	}
}
