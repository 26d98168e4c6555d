package signals

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// divertible are the signals s6-svscan (2.13) lets an init divert with a
// .s6-svscan/SIG* control file.
var divertible = []syscall.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPWR, syscall.SIGWINCH,
}

// TestTable: each signal appears once, under its own name; every
// divertible one has exactly one role, not Ignore, and nothing else is
// diverted.
func TestTable(t *testing.T) {
	seen := map[syscall.Signal]int{}
	for _, e := range Table {
		seen[e.Signal]++
		if e.Name != unix.SignalName(e.Signal) {
			t.Errorf("%v named %q, want %q", e.Signal, e.Name, unix.SignalName(e.Signal))
		}
		if e.Role < Stop || e.Role > Ignore {
			t.Errorf("%s has no role (%d)", e.Name, e.Role)
		}
	}
	for sig, n := range seen {
		if n != 1 {
			t.Errorf("%s in the table %d times", unix.SignalName(sig), n)
		}
	}
	for _, sig := range divertible {
		if r := RoleOf(sig); r == 0 || r == Ignore {
			t.Errorf("%s: role %d, want Stop, Interrupt or Forward", unix.SignalName(sig), r)
		}
	}
	if got := len(Diverted()); got != len(divertible) {
		t.Errorf("%d signals diverted, want s6-svscan's %d", got, len(divertible))
	}
	if RoleOf(syscall.SIGCHLD) != 0 || RoleOf(syscall.SIGURG) != 0 {
		t.Error("SIGCHLD or SIGURG (the Go runtime's) in the table")
	}
	if RoleOf(Term) != Stop {
		t.Errorf("Term %v is not the Stop signal", Term)
	}
}

func TestLists(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  int
		want int
	}{
		{"caught early", len(Caught()), len(divertible)},
		{"stage3's", len(All()), len(Table)},
		{"stop", len(Of(Stop)), 1},
		{"interrupt", len(Of(Interrupt)), 2},
		{"forward", len(Of(Forward)), 5},
		{"ignore", len(Of(Ignore)), 5},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %d signals, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestAct(t *testing.T) {
	running := Policy{CmdRunning: true, Receive: true, CmdStop: syscall.SIGTERM}
	for _, tt := range []struct {
		name string
		sig  syscall.Signal
		p    Policy
		want Action
	}{
		{"TERM with a CMD", syscall.SIGTERM, running, Shutdown},
		{"TERM without", syscall.SIGTERM, Policy{}, Shutdown},
		{"INT to the CMD", syscall.SIGINT, running, ToCmd},
		{"QUIT to the CMD", syscall.SIGQUIT, running, ToCmd},
		{"INT without a CMD", syscall.SIGINT, Policy{Receive: true}, Shutdown},
		{"INT with receive-signals off", syscall.SIGINT, Policy{CmdRunning: true, CmdStop: syscall.SIGTERM}, Shutdown},
		{"INT as the stop signal", syscall.SIGINT, Policy{CmdRunning: true, Receive: true, CmdStop: syscall.SIGINT}, Shutdown},
		{"HUP to the CMD", syscall.SIGHUP, running, ToCmd},
		{"HUP without a CMD rescans", syscall.SIGHUP, Policy{}, Rescan},
		{"USR1 without a CMD", syscall.SIGUSR1, Policy{}, Drop},
		{"PWR to the CMD", syscall.SIGPWR, running, ToCmd},
		{"WINCH without a CMD", syscall.SIGWINCH, Policy{}, Drop},
		{"PIPE is ignored", syscall.SIGPIPE, running, Drop},
		{"not in the table", syscall.SIGURG, running, Drop},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Act(tt.sig, tt.p); got != tt.want {
				t.Errorf("Act(%s) = %d, want %d", unix.SignalName(tt.sig), got, tt.want)
			}
		})
	}
}

// TestControl: which of s6-svscan's control files argv0 runs as, and
// which of them are stage3.
func TestControl(t *testing.T) {
	for argv0, want := range map[string]string{
		"/run/ignity/services-state/.s6-svscan/finish": "finish",
		".s6-svscan/crash":   "crash",
		".s6-svscan/SIGTERM": "SIGTERM",
		"/usr/bin/ignity":    "",
		"finish":             "",
	} {
		if got := Control(argv0); got != want {
			t.Errorf("Control(%q) = %q, want %q", argv0, got, want)
		}
	}
	for name, want := range map[string]bool{"finish": true, "crash": true, "SIGTERM": false, "": false} {
		if got := RunsStage3(name); got != want {
			t.Errorf("RunsStage3(%q) = %v, want %v", name, got, want)
		}
	}
}
