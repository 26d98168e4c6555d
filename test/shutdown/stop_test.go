package shutdown_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// A service that handles SIGTERM gets it, and a prompt service makes a
// prompt stop: no grace is waited out.
func TestStopServiceTrapsTerm(t *testing.T) {
	serially(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/catcher/run", "#!/bin/sh\n"+
			"trap 'touch /tmp/caught; exit 0' TERM\ntouch /tmp/catcher-up\nwhile :; do sleep 0.05; done\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init")
		p.WaitOutput(t, servicesUp, boottest.Short)
		waitFiles(t, r, boottest.Short, "/tmp/catcher-up")
		res, d := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine)
		if !boottest.Exists(r, "/tmp/caught") {
			t.Errorf("the service's TERM trap did not run: no /tmp/caught\n%s", res)
		}
		within(t, "SIGTERM to exit", d, 0, time.Second, res)
	})
}

// A service that ignores SIGTERM, and a child of it that inherited the
// ignore, are killed once their graces expire: the service by s6's
// timeout-kill (IGNITY_SERVICES_GRACETIME), the orphaned child by the
// final SIGKILL (IGNITY_KILL_GRACETIME). About 1.5 s in all.
func TestStopServiceIgnoringTerm(t *testing.T) {
	serially(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/stubborn/run", "#!/bin/sh\n"+
			"trap '' TERM\nsleep 1000 &\ntouch /tmp/stubborn-up\nexec sleep 1000\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short,
			Env: boottest.Env("IGNITY_SERVICES_GRACETIME=1000", "IGNITY_KILL_GRACETIME=500")}, "/init")
		p.WaitOutput(t, servicesUp, boottest.Short)
		waitFiles(t, r, boottest.Short, "/tmp/stubborn-up")
		res, d := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine)
		// Both graces were honoured: s6 kills only the service itself, so
		// its child lives on until the final SIGKILL.
		within(t, "SIGTERM to exit", d, 1400*time.Millisecond, 3*time.Second, res)
	})
}

// A service's finish that runs s6-svscanctl -t (s6's own way to stop the
// supervision tree, which bypasses .s6-svscan/SIGTERM) brings the
// container down, and the timeout-kill ignity gives every service bounds
// that even when another service ignores SIGTERM.
func TestSvscanctlFromFinishStopsContainer(t *testing.T) {
	serially(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/stubborn/run", "#!/bin/sh\n"+
			"trap '' TERM\ntouch /tmp/stubborn-up\nexec sleep 1000\n")
		boottest.Script(t, r, "/etc/ignity/services/quitter/run", "#!/bin/sh\n"+
			boottest.WaitFor("/tmp/stubborn-up")+"\ntouch /tmp/quitting\nexit 0\n")
		boottest.Script(t, r, "/etc/ignity/services/quitter/finish", "#!/bin/sh\n"+
			"s6-svscanctl -t /run/ignity/services-state\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short,
			Env: boottest.Env("IGNITY_SERVICES_GRACETIME=1000")}, "/init")
		waitFiles(t, r, boottest.Short, "/tmp/quitting")
		start := time.Now()
		res := p.Wait()
		d := time.Since(start)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine)
		within(t, "quitter's exit to container exit", d, 900*time.Millisecond, 2500*time.Millisecond, res)
	})
}

// With the default graces, services that exit on SIGTERM stop at once,
// however many: the shutdown waits for events, not for its bounds (a
// fixed sleep of the graces would take at least 3 s, the kill grace).
func TestStopLatencyManyServices(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		t.Run(fmt.Sprintf("%d services", n), func(t *testing.T) {
			serially(t, func(t *testing.T, r *harness.Root) {
				for i := range n {
					name := fmt.Sprintf("s%03d", i)
					boottest.Script(t, r, "/etc/ignity/services/"+name+"/run",
						"#!/bin/sh\ntouch /tmp/up."+name+"\nexec sleep 1000\n")
				}
				p := r.Start(t, harness.Options{Timeout: 30 * time.Second}, "/init")
				p.WaitOutput(t, servicesUp, 20*time.Second)
				harness.PollUntil(t, 20*time.Second, fmt.Sprintf("%d services up", n), func() bool {
					return countFiles(r, "/tmp/up.*") == n
				})
				res, d := stop(t, p, syscall.SIGTERM)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, lastLine)
				// Under the kill grace (3 s), with slack for a loaded
				// 2-core machine: a stop that waited for a bound would
				// take at least that. The figures are task bench's.
				within(t, fmt.Sprintf("SIGTERM to exit with %d services", n), d, 0, 2500*time.Millisecond, res)
			})
		})
	}
}

// The worst case with the default knobs: a service and a finalize script
// that both ignore SIGTERM, the service leaving a child that ignores it
// too. The services' grace (5 s) and the finalize bound (5 s) run side by
// side, then the kill grace (3 s): about 8 s, under docker stop's 10 s.
func TestStopBoundWithHostileServiceAndFinalize(t *testing.T) {
	hostile := func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/stubborn/run", "#!/bin/sh\n"+
			"trap '' TERM\nsleep 1000 &\ntouch /tmp/stubborn-up\nexec sleep 1000\n")
		boottest.Script(t, r, "/etc/ignity/finalize/50-stubborn", "#!/bin/sh\n"+
			"trap '' TERM\ntouch /tmp/finalize-started\nsleep 1000\n")
	}
	check := func(t *testing.T, r *harness.Root, res *harness.Result, d time.Duration, what string) {
		t.Helper()
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine,
			"finalize script /etc/ignity/finalize/50-stubborn killed after IGNITY_KILL_FINALIZE_MAXTIME=5000 ms")
		if !boottest.Exists(r, "/tmp/finalize-started") {
			t.Errorf("the finalize script did not run\n%s", res)
		}
		// Both graces were honoured: 5 s for the service and the finalize
		// script, then 3 s for the service's orphaned child.
		within(t, what, d, 7500*time.Millisecond, 9*time.Second, res)
	}

	t.Run("SIGTERM", func(t *testing.T) {
		serially(t, func(t *testing.T, r *harness.Root) {
			hostile(t, r)
			p := r.Start(t, harness.Options{Timeout: 20 * time.Second}, "/init")
			p.WaitOutput(t, servicesUp, boottest.Short)
			waitFiles(t, r, boottest.Short, "/tmp/stubborn-up")
			res, d := stop(t, p, syscall.SIGTERM)
			check(t, r, res, d, "SIGTERM to exit")
		})
	})
	t.Run("CMD exit", func(t *testing.T) {
		serially(t, func(t *testing.T, r *harness.Root) {
			hostile(t, r)
			// The CMD ends once the service is up, so that it has
			// something to ignore.
			p := r.Start(t, harness.Options{Timeout: 20 * time.Second}, "/init", "sh", "-c",
				boottest.WaitFor("/tmp/stubborn-up")+"exec true")
			waitFiles(t, r, boottest.Short, "/tmp/stubborn-up")
			start := time.Now()
			res := p.Wait()
			check(t, r, res, time.Since(start), "CMD exit to container exit")
			boottest.WantOutput(t, res, "exited 0")
		})
	})
}
