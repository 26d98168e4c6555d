package sighandler

import (
	"fmt"
	"os"
	"testing"

	"github.com/ignity/ignity/internal/systest"
	"github.com/ignity/ignity/pkg/container"
	"github.com/ignity/ignity/pkg/signals"
	"golang.org/x/sys/unix"
)

func TestFind(t *testing.T) {
	for argv0, want := range map[string]bool{
		".s6-svscan/SIGTERM": true, "/run/ignity/services-state/.s6-svscan/SIGPWR": true,
		".s6-svscan/SIGUSR1": true, ".s6-svscan/nope": false, "SIGTERM": false, "/usr/bin/ignity": false,
		// stage3's, which cmd/ignity-init dispatches; s6-svscan diverts no SIGPIPE.
		".s6-svscan/finish": false, ".s6-svscan/crash": false, ".s6-svscan/SIGPIPE": false,
	} {
		if got := Find(signals.Control(argv0)) != nil; got != want {
			t.Errorf("Find(signals.Control(%q)) found = %v, want %v", argv0, got, want)
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
		knobs   []string
		want    []string // signals sent
		reason  string
		scan    string // written to s6-svscan's control FIFO
		log     string
	}{
		{"TERM with a CMD", "SIGTERM", true, nil, []string{"-4321:SIGTERM", "-4321:SIGCONT"}, "SIGTERM", "b", ""},
		{"TERM with a CMD whose stop signal is QUIT", "SIGTERM", true, []string{"IGNITY_CMD_STOP_SIGNAL=QUIT"}, []string{"-4321:SIGQUIT", "-4321:SIGCONT"}, "SIGTERM", "b", ""},
		{"QUIT without a CMD", "SIGQUIT", false, nil, nil, "SIGQUIT", "b", ""},
		{"INT with a CMD is forwarded", "SIGINT", true, nil, []string{"-4321:SIGINT"}, "", "", ""},
		{"INT with receive-signals off stops", "SIGINT", true, []string{"IGNITY_CMD_RECEIVE_SIGNALS=0"}, []string{"-4321:SIGTERM", "-4321:SIGCONT"}, "SIGINT", "b", ""},
		{"INT as the stop signal stops", "SIGINT", true, []string{"IGNITY_CMD_STOP_SIGNAL=INT"}, []string{"-4321:SIGINT", "-4321:SIGCONT"}, "SIGINT", "b", ""},
		{"HUP with a CMD is forwarded", "SIGHUP", true, nil, []string{"-4321:SIGHUP"}, "", "", ""},
		{"HUP without a CMD rescans", "SIGHUP", false, []string{"IGNITY_VERBOSITY=2"}, nil, "", "an", "[supervisor/signal] debug: SIGHUP with no CMD running: rescanning the services"},
		{"WINCH with a CMD is forwarded", "SIGWINCH", true, nil, []string{"-4321:SIGWINCH"}, "", "", ""},
		{"PWR with a CMD is forwarded", "SIGPWR", true, nil, []string{"-4321:SIGPWR"}, "", "", ""},
		{"USR1 without a CMD does nothing", "SIGUSR1", false, []string{"IGNITY_VERBOSITY=2"}, nil, "", "", "SIGUSR1 with no CMD running: dropped"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := systest.Booted(t, tt.knobs...)
			if tt.cmd {
				if err := w.State().CmdStarted(pgid); err != nil {
					t.Fatal(err)
				}
			}
			if code := Find(tt.handler)(w.Sys); code != 0 {
				t.Errorf("handler = %d\n%s", code, w.Stderr())
			}
			if got := w.Kills(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
			reason, _ := w.State().Stopping()
			if reason != tt.reason {
				t.Errorf("shutdown reason %q, want %q", reason, tt.reason)
			}
			if got := w.Scan(); got != tt.scan {
				t.Errorf("s6-svscan got %q, want %q", got, tt.scan)
			}
			if tt.log != "" {
				w.WantLog(t, tt.log)
			}
		})
	}
}

// TestHandlerErrors: a handler that cannot do its job says so and exits
// 111 (s6-svscan ignores it; the log is what the user sees).
func TestHandlerErrors(t *testing.T) {
	w := systest.New(t)              // no scandir: s6-svscan cannot be told
	os.RemoveAll(w.Sys.Layout.Run()) // nor anything recorded
	if code := Handle(w.Sys, unix.SIGTERM); code != container.ExitSystem {
		t.Errorf("SIGTERM = %d, want %d", code, container.ExitSystem)
	}
	if code := Handle(w.Sys, unix.SIGHUP); code != container.ExitSystem {
		t.Errorf("SIGHUP = %d, want %d (no scandir to rescan)", code, container.ExitSystem)
	}
	w.WantLog(t, "ignity: error: SIGTERM: request a shutdown (SIGTERM)", "ignity: error: SIGHUP: send \"an\"")
}
