package boot_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

func TestBadKnobStopsBoot(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/init/10-a", "#!/bin/sh\ntouch /tmp/init-ran\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_KILL_GRACETIME=3s", "USERMAP_UID=-1")}, "/init", "true")
		boottest.WantExit(t, res, 100)
		boottest.WantOutput(t, res, `IGNITY_KILL_GRACETIME="3s"`, "want a whole number of milliseconds", `USERMAP_UID="-1"`)
		if boottest.Exists(r, "/tmp/init-ran") {
			t.Error("an init script ran despite a bad knob")
		}
	})
}

func TestUnknownKnobOnlyWarnsAtBoot(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_KILL_GRACE_TIME=100")}, "/init", "echo", "cmd-ran")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "warning: environment: unknown knob IGNITY_KILL_GRACE_TIME: did you mean IGNITY_KILL_GRACETIME?", "cmd-ran")
	})
}

func TestStopBoundWarning(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/finalize/10-a", "#!/bin/sh\ntrue\n")
		boottest.Script(t, r, "/etc/ignity/finalize/20-b", "#!/bin/sh\ntrue\n")
		// max(5 s services, 2 x 5 s finalize) + 3 s = 13 s: over docker stop's 10 s.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "a shutdown may take up to 13s", "docker stop -t")
		// The defaults with one finalize script (8 s) say nothing.
		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_KILL_FINALIZE_MAXTIME=2000")}, "/init", "true")
		boottest.WantExit(t, res, 0)
		boottest.WantNoOutput(t, res, "a shutdown may take")
	})
}

func TestSigintStopsAndSyncDisks(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/svc/run", "#!/bin/sh\ntrap 'touch /tmp/svc-term; exit 0' TERM\ntouch /tmp/svc-up\nwhile :; do sleep 0.05; done\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_SYNC_DISKS=1")}, "/init")
		harness.PollUntil(t, boottest.Short, "the service to start", func() bool { return boottest.Exists(r, "/tmp/svc-up") })
		p.Signal(syscall.SIGINT)
		res := p.Wait()
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "[supervisor/finalize] Syncing disks")
		if !boottest.Exists(r, "/tmp/svc-term") {
			t.Error("the service did not get its SIGTERM on SIGINT to PID 1")
		}
	})
}

func TestIgnityCheckCommand(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		// A clean image passes.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/usr/bin/ignity", "check")
		boottest.WantExit(t, res, 0)
		// Every problem, one per line; exit 1.
		boottest.Script(t, r, "/etc/ignity/services/web/run", "#!/bin/sh\nexec sleep 100\n")
		boottest.File(t, r, "/etc/ignity/services/web/timeout_kill", "100\n")
		boottest.File(t, r, "/etc/ignity/services/web/notification-fd", "fd3\n")
		boottest.File(t, r, "/etc/ignity/init/10-plain", "#!/bin/sh\n")
		boottest.File(t, r, "/etc/ignity/envs/10-bad", "GOOD=1\nno equals SECRET-MARKER\n")
		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_KILL_GRACE_TIME=1")}, "/usr/bin/ignity", "check")
		boottest.WantExit(t, res, 1)
		boottest.WantOutput(t, res,
			"/etc/ignity/envs/10-bad:2:",
			"/etc/ignity/init/10-plain: not executable",
			"/etc/ignity/services/web/notification-fd: want an integer >= 3",
			"/etc/ignity/services/web/timeout_kill: s6 does not read timeout_kill: did you mean timeout-kill?",
			"environment: unknown knob IGNITY_KILL_GRACE_TIME: did you mean IGNITY_KILL_GRACETIME?")
		boottest.WantNoOutput(t, res, "SECRET-MARKER")
		if n := strings.Count(strings.TrimSpace(res.Stdout), "\n") + 1; n != 5 {
			t.Errorf("%d lines, want one per problem (5)\n%s", n, res)
		}
		// /init refuses to start with the same lines, exit 100.
		res = r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 100)
		boottest.WantOutput(t, res, "/etc/ignity/init/10-plain: not executable", "the container does not start")
		// Usage errors: 100.
		res = r.Boot(t, harness.Options{Timeout: boottest.Short}, "/usr/bin/ignity", "check", "--root", "/no/such/dir")
		boottest.WantExit(t, res, 100)
	})
}
