package stages

import (
	"fmt"
	"os"
	"testing"

	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/runstate"
)

func TestHandler(t *testing.T) {
	for argv0, want := range map[string]bool{
		".s6-svscan/SIGTERM": true, "/run/ignity/services-state/.s6-svscan/finish": true,
		".s6-svscan/SIGUSR1": true, ".s6-svscan/nope": false, "SIGTERM": false, "/usr/bin/ignity": false,
	} {
		if got := Handler(argv0) != nil; got != want {
			t.Errorf("Handler(%q) found = %v, want %v", argv0, got, want)
		}
	}
}

// TestHandlers: s6-svscan's signal handlers, with and without a CMD.
func TestHandlers(t *testing.T) {
	const pgid = 4321
	for _, tt := range []struct {
		name    string
		handler string
		cmd     bool
		want    []string // signals sent
		reason  string
		scan    string // written to s6-svscan's control FIFO
	}{
		{"TERM with a CMD", "SIGTERM", true, []string{"-4321:SIGTERM", "-4321:SIGCONT"}, "SIGTERM", "b"},
		{"QUIT without a CMD", "SIGQUIT", false, nil, "SIGQUIT", "b"},
		{"HUP with a CMD is forwarded", "SIGHUP", true, []string{"-4321:SIGHUP"}, "", ""},
		{"HUP without a CMD rescans", "SIGHUP", false, nil, "", "an"},
		{"WINCH with a CMD is forwarded", "SIGWINCH", true, []string{"-4321:SIGWINCH"}, "", ""},
		{"USR1 without a CMD does nothing", "SIGUSR1", false, nil, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, scan := booted(t, w)
			if tt.cmd {
				if err := w.State().CmdStarted(pgid); err != nil {
					t.Fatal(err)
				}
			}
			if code := Handler(".s6-svscan/" + tt.handler)(w.sys); code != 0 {
				t.Errorf("handler = %d\n%s", code, w.stderr)
			}
			if fmt.Sprint(w.kills) != fmt.Sprint(tt.want) {
				t.Errorf("sent %q, want %q", w.kills, tt.want)
			}
			reason, _ := w.State().Stopping()
			if reason != tt.reason {
				t.Errorf("shutdown reason %q, want %q", reason, tt.reason)
			}
			if got := scan(); got != tt.scan {
				t.Errorf("s6-svscan got %q, want %q", got, tt.scan)
			}
		})
	}
}

// TestHandlerErrors: a handler that cannot do its job says so and exits
// 111 (s6-svscan ignores it; the log is what the user sees).
func TestHandlerErrors(t *testing.T) {
	w := newWorld(t)                 // no scandir: s6-svscan cannot be told
	os.RemoveAll(w.sys.Layout.Run()) // nor anything recorded
	if code := Shutdown(w.sys, "SIGTERM"); code != container.ExitSystem {
		t.Errorf("Shutdown = %d, want %d", code, container.ExitSystem)
	}
	if code := Forward(w.sys, "SIGHUP"); code != container.ExitSystem {
		t.Errorf("Forward = %d, want %d (no scandir to rescan)", code, container.ExitSystem)
	}
	w.wantLog(t, "ignity: error: SIGTERM: request a shutdown (SIGTERM)", "ignity: error: SIGHUP: send \"an\"")
}

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
