// Package shutdown_test boots the release tarball as PID 1 in throw-away
// root filesystems (busybox-static and Debian minbase) and checks how a
// container stops: who gets which signal, which bounds hold, which exit
// status comes out, and that nothing is left unreaped.
//
// Tests that measure time run the two bases one after the other and never
// in parallel with other tests: a second boot on a 2-core machine would
// skew what they measure. Durations are taken from the moment the test
// sends the signal (or sees the trigger) to PID 1's exit.
package shutdown_test

import (
	"os"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	os.Exit(m.Run())
}
