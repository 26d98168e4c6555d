package shutdown_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// A finalize script that hangs (and ignores SIGTERM) is killed, with
// what it started, at IGNITY_KILL_FINALIZE_MAXTIME; a warning names it,
// the other finalize scripts still run, and the container ends long
// before the script would have.
func TestHungFinalizeScriptKilledAtBound(t *testing.T) {
	serially(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/finalize/50-hang", "#!/bin/sh\n"+
			"trap '' TERM\ntouch /tmp/hang-started\nsleep 30\ntouch /tmp/hang-finished\n")
		boottest.Script(t, r, "/etc/ignity/finalize/60-after", "#!/bin/sh\ntouch /tmp/after-ran\n")
		p := r.Start(t, harness.Options{Timeout: boottest.Short,
			Env: boottest.Env("IGNITY_KILL_FINALIZE_MAXTIME=300")}, "/init")
		p.WaitOutput(t, servicesUp, boottest.Short)
		res, d := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, lastLine,
			"ignity: warning: finalize script /etc/ignity/finalize/50-hang killed after IGNITY_KILL_FINALIZE_MAXTIME=300 ms")
		if !boottest.Exists(r, "/tmp/hang-started") {
			t.Errorf("the hung finalize script never ran\n%s", res)
		}
		if boottest.Exists(r, "/tmp/hang-finished") {
			t.Errorf("the hung finalize script ran to its end\n%s", res)
		}
		if !boottest.Exists(r, "/tmp/after-ran") {
			t.Errorf("the finalize script after the hung one did not run\n%s", res)
		}
		// Killed at its bound, not before; and its sleep died with it
		// (had it survived, the 3 s kill grace would have been waited).
		within(t, "SIGTERM to exit", d, 300*time.Millisecond, 2*time.Second, res)
	})
}

// Finalize scripts get the merged environment (env files overridden by
// the container's), after the CMD as after a failed boot, and a failed
// init script's status is the container's.
func TestFinalizeEnvAndFailedBoot(t *testing.T) {
	for _, tt := range []struct {
		name     string
		initExit string
		want     int
	}{
		{"after the CMD", "0", 0},
		{"after a failed boot", "5", 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/etc/ignity/envs/10-app", "FROM_FILE=file-value\nBOTH=from-file\n")
				boottest.Script(t, r, "/etc/ignity/init/10-init", "#!/bin/sh\nexit "+tt.initExit+"\n")
				boottest.Script(t, r, "/etc/ignity/finalize/10-env", "#!/bin/sh\n"+
					`echo "FROM_FILE=$FROM_FILE FROM_CONTAINER=$FROM_CONTAINER BOTH=$BOTH" > /tmp/finalize-env`+"\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short,
					Env: boottest.Env("FROM_CONTAINER=container-value", "BOTH=from-container")},
					"/init", "touch", "/tmp/cmd-ran")
				boottest.WantExit(t, res, tt.want)
				boottest.WantOutput(t, res, finalizeDone, lastLine)
				if tt.want != 0 {
					boottest.WantOutput(t, res, "init script /etc/ignity/init/10-init exited 5")
					if boottest.Exists(r, "/tmp/cmd-ran") {
						t.Errorf("the CMD ran after an init script failed\n%s", res)
					}
				}
				if !boottest.Exists(r, "/tmp/finalize-env") {
					t.Fatalf("the finalize script did not run\n%s", res)
				}
				want := "FROM_FILE=file-value FROM_CONTAINER=container-value BOTH=from-container\n"
				if got := boottest.Read(t, r, "/tmp/finalize-env"); got != want {
					t.Errorf("finalize script saw %q, want %q", got, want)
				}
			})
		})
	}
}
