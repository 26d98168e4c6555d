package shutdown_test

import (
	"syscall"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// notPid1Script is PID 1 when /init is not: it starts a sibling of /init
// and /init itself, forwards SIGTERM to /init, then reports /init's status
// and whether the sibling survived /init's shutdown.
const notPid1Script = `#!/bin/sh
sleep 1000 &
sib=$!
/init sh -c 'echo cmd-""running; sleep 100' &
child=$!
trap 'kill -TERM $child; forwarded=1' TERM
wait $child
st=$?
# A trapped signal interrupts wait: wait again for the real status.
if [ "$forwarded" = 1 ]; then wait $child; st=$?; fi
kill -0 $sib 2>/dev/null && echo "sibling-""alive"
echo "init-status=$st"
exit $st
`

// /init started by another PID 1 (docker run --init, a shared pid
// namespace) says so, boots, stops on SIGTERM with the CMD's status, and
// signals only its own processes: a sibling survives its shutdown.
func TestNotPid1(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/not-pid1.sh", notPid1Script)
		p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/bin/sh", "/not-pid1.sh")
		p.WaitOutput(t, "cmd-running", boottest.Short)
		res, _ := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 143)
		boottest.WantOutput(t, res, "ignity: warning: running as pid ", "not PID 1")
		// /init's log, then what its parent printed once /init had ended.
		wantInOrder(t, res, res.Stderr, servicesUp, "exited 143\n", lastLine)
		wantInOrder(t, res, res.Stdout, "cmd-running\n", "sibling-alive\n", "init-status=143\n")
	})
}
