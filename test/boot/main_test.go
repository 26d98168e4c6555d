// Package boot_test boots the release tarball as PID 1 in throw-away root
// filesystems (busybox-static and Debian minbase) and checks what the
// ignity README promises for bringing a container up and running it.
package boot_test

import (
	"os"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

func TestMain(m *testing.M) {
	harness.Init()
	os.Exit(m.Run())
}
