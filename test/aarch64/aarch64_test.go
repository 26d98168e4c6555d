// Package aarch64_test boots the aarch64 release tarball for real: extracted,
// with the installer run, into a root filesystem of Debian's arm64
// busybox-static, as the true PID 1 of fresh namespaces (internal/harness),
// on an x86_64 host through Debian's qemu-user-static. A service starts
// under the aarch64 s6, the CMD's exit status comes back, SIGTERM stops the
// container.
//
// TestMain registers the qemu-aarch64 binfmt_misc handler, with the F flag,
// only if none exists (mounting binfmt_misc first if needed), and removes
// what it added once the tests end (harness.QemuAarch64). Where the machine
// refuses that (no binfmt_misc, registration denied, an unusable handler
// already there), every test here skips loudly with the reason, and that
// skip is the one exempt from IGNITY_REQUIRE_INTEGRATION=1: whether a kernel
// lets a test register an interpreter is the machine's decision, not
// something scripts/setup.sh can provide. Anything else missing (root, the
// tarball, qemu-user-static itself) skips, or fails under
// IGNITY_REQUIRE_INTEGRATION=1, as elsewhere.
//
// Under qemu every instruction of the guest is translated: a boot, CMD and
// shutdown took about 0.5 s on a 2-core machine, against some 30 ms
// natively, and a loaded machine stretches that further; the deadlines
// here are wide.
//
// The tarball is $IGNITY_TARBALL_AARCH64, or else the newest
// dist/ignity-*-aarch64.tar.gz of the module.
package aarch64_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

var qemu *harness.Qemu

func TestMain(m *testing.M) {
	harness.Init()
	qemu = harness.QemuAarch64()
	code := m.Run()
	if err := qemu.Undo(); err != nil {
		fmt.Fprintf(os.Stderr, "aarch64: remove the qemu-aarch64 handler: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// slow bounds a boot under qemu.
const slow = 90 * time.Second

// Log lines the tests wait for or expect.
const (
	servicesUp = "[supervisor/service] Services started"
	lastLine   = "[supervisor/finalize] Sending all processes the kill signal and exiting"
)

// newRoot is an arm64 busybox root with the aarch64 tarball installed as
// the README documents it: extracted at /, then install-ignity.sh, which
// also checks that the shipped programs run.
func newRoot(t *testing.T) *harness.Root {
	t.Helper()
	harness.RequireRoot(t)
	tarball := harness.TarballFor(t, "aarch64")
	qemu.Require(t)
	r := harness.NewRoot(t, harness.BusyboxArm64, tarball)
	res := r.Boot(t, harness.Options{Timeout: slow}, "/bin/sh", "/usr/src/install-ignity.sh")
	if res.ExitCode != 0 {
		t.Fatalf("install-ignity.sh failed:\n%s", res)
	}
	return r
}

// TestServiceAndCmdStatus: a service starts under s6, the CMD (an aarch64
// process: uname says so) sees it up, and the CMD's exit status is the
// container's.
func TestServiceAndCmdStatus(t *testing.T) {
	r := newRoot(t)
	boottest.Script(t, r, "/etc/ignity/services/web/run", "#!/bin/sh\ntouch /tmp/web-up\nexec sleep 1000\n")
	boottest.Script(t, r, "/usr/local/bin/probe", "#!/bin/sh\n"+boottest.WaitFor("/tmp/web-up")+
		`echo "machine $(uname -m)"; echo "web up: $(s6-svstat -o up /run/ignity/services-state/web)"; exit 7`+"\n")
	res := r.Boot(t, harness.Options{Timeout: slow}, "/init", "probe")
	boottest.WantExit(t, res, 7)
	boottest.WantOutput(t, res, servicesUp, "machine aarch64\n", "web up: true\n", "[supervisor/cmd] probe exited 7", lastLine)
	t.Logf("boot, CMD and shutdown under qemu: %v", res.Elapsed.Round(time.Millisecond))
}

// TestSIGTERMStops: with no CMD the container runs until SIGTERM (docker
// stop), which reaches the service's TERM handler and ends the container
// with status 0, well within the default bounds.
func TestSIGTERMStops(t *testing.T) {
	r := newRoot(t)
	boottest.Script(t, r, "/etc/ignity/services/catcher/run", "#!/bin/sh\n"+
		"trap 'touch /tmp/caught; exit 0' TERM\ntouch /tmp/catcher-up\nwhile :; do sleep 0.05; done\n")
	p := r.Start(t, harness.Options{Timeout: slow}, "/init")
	p.WaitOutput(t, servicesUp, slow/2)
	harness.PollUntil(t, slow/2, "/tmp/catcher-up", func() bool { return boottest.Exists(r, "/tmp/catcher-up") })
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM to PID 1: %v", err)
	}
	res := p.Wait()
	d := time.Since(start)
	boottest.WantExit(t, res, 0)
	boottest.WantOutput(t, res, lastLine)
	if !boottest.Exists(r, "/tmp/caught") {
		t.Errorf("the service's TERM trap did not run: no /tmp/caught\n%s", res)
	}
	// The services' grace is 5 s and the kill grace 3 s: a stop that waited
	// them out would take 8 s even under qemu's slowness.
	t.Logf("SIGTERM to exit under qemu: %v", d.Round(time.Millisecond))
	if d > 5*time.Second {
		t.Errorf("SIGTERM to exit took %v, want well under the 8 s of the default graces\n%s", d.Round(time.Millisecond), res)
	}
}

// TestVersion: the aarch64 binary says what it is.
func TestVersion(t *testing.T) {
	r := newRoot(t)
	res := r.Boot(t, harness.Options{Timeout: slow}, "/usr/bin/ignity", "--version")
	boottest.WantExit(t, res, 0)
	if !regexp.MustCompile(`(?m)^ignity \S+ \(commit ([0-9a-f]+|unknown), aarch64\)$`).MatchString(res.Stdout) ||
		!strings.Contains(res.Stdout, "\nskaware: s6 2.13.") {
		t.Errorf("ignity --version does not name the aarch64 build and its s6:\n%s", res)
	}
}
