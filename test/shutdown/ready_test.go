package shutdown_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// initStart is stage2's first line, printed only once s6-svscan has said
// on its -d pipe that it is ready.
const initStart = "[supervisor/init] Executing environment init scripts"

// A SIGTERM sent the moment the boot log shows s6-svscan ready is handled,
// never lost: s6-svscan (s6 2.13) writes its readiness line only after it
// has blocked the signals it handles and opened a signalfd for them, so
// even PID 1, which the kernel spares signals it has no handler for, gets
// it. The container stops at once, the finalize scripts run, and without
// a CMD the status is 0. Ten boots per base, each signalled as soon as the
// line is seen: a lost signal shows as a boot that runs until the harness
// kills it.
func TestTermRightAfterReadiness(t *testing.T) {
	serially(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/finalize/50-mark", "#!/bin/sh\necho finalized >> /tmp/finalized\n")
		boottest.Script(t, r, "/etc/ignity/services/svc/run", "#!/bin/sh\nexec sleep 1000\n")
		for i := range 10 {
			os.Remove(r.Path("/tmp/finalized"))
			p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init")
			waitOutputTight(t, p, initStart, boottest.Short)
			res, d := stop(t, p, syscall.SIGTERM)
			boottest.WantExit(t, res, 0)
			boottest.WantOutput(t, res, finalizeDone, lastLine)
			if got := boottest.Read(t, r, "/tmp/finalized"); got != "finalized\n" {
				t.Errorf("boot %d: the finalize script ran %q times, want once\n%s", i, got, res)
			}
			within(t, fmt.Sprintf("boot %d: SIGTERM to exit", i), d, 0, 2*time.Second, res)
		}
	})
}

// waitOutputTight is Proc.WaitOutput polling every 100 µs instead of 5 ms,
// so that what follows happens right after substr is printed.
func waitOutputTight(t *testing.T, p *harness.Proc, substr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.Output(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %q in the output:\n%s", d, substr, p.Output())
		}
		time.Sleep(100 * time.Microsecond)
	}
}
