package shutdown_test

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// The container's status is the CMD's, 128+n when it died of signal n,
// as sh and docker report it.
func TestCmdExitCodes(t *testing.T) {
	for _, tt := range []struct {
		name string
		argv []string
		want int
	}{
		{"exit 0", []string{"true"}, 0},
		{"exit 42", []string{"sh", "-c", "exit 42"}, 42},
		{"killed by SIGTERM", []string{"sh", "-c", "kill -TERM $$"}, 143},
		{"killed by SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 137},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, append([]string{"/init"}, tt.argv...)...)
				boottest.WantExit(t, res, tt.want)
				boottest.WantOutput(t, res, fmt.Sprintf("exited %d\n", tt.want), lastLine)
			})
		})
	}
}

// SIGTERM to PID 1 reaches the CMD: one that does not handle it dies of
// it (143), one that traps it exits with its own status.
func TestSigtermToPid1ReachesCmd(t *testing.T) {
	for _, tt := range []struct {
		name   string
		script string
		want   int
	}{
		{"default action", `echo cmd-""up; exec sleep 100`, 143},
		{"trapped", `trap "exit 0" TERM; echo cmd-""up; while :; do sleep 0.05; done`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", tt.script)
				p.WaitOutput(t, "cmd-up", boottest.Short)
				res, _ := stop(t, p, syscall.SIGTERM)
				boottest.WantExit(t, res, tt.want)
				boottest.WantOutput(t, res, fmt.Sprintf("exited %d\n", tt.want), lastLine)
			})
		})
	}
}

// SIGHUP, SIGUSR1 and SIGUSR2 to PID 1 are forwarded to the CMD (s6-svscan
// runs .s6-svscan/SIGHUP etc.); the container keeps running, and a
// SIGTERM still stops it.
func TestForwardedSignalsReachCmd(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		// The markers are spelled split in the CMD, which the exit line
		// repeats.
		p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`trap 'echo got-""hup' HUP; trap 'echo got-""usr1' USR1; trap 'echo got-""usr2' USR2
			 echo cmd-""ready; while :; do sleep 0.05; done`)
		p.WaitOutput(t, "cmd-ready", boottest.Short)
		for _, s := range []struct {
			sig    syscall.Signal
			marker string
		}{{syscall.SIGHUP, "got-hup"}, {syscall.SIGUSR1, "got-usr1"}, {syscall.SIGUSR2, "got-usr2"}} {
			if err := p.Signal(s.sig); err != nil {
				t.Fatalf("send %v: %v", s.sig, err)
			}
			p.WaitOutput(t, s.marker, boottest.Short)
		}
		res, _ := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 143)
		boottest.WantOutput(t, res, "exited 143\n", lastLine)
	})
}
