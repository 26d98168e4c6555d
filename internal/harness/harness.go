// Package harness boots a program as the true PID 1 of fresh pid, mount, uts
// and ipc namespaces inside a throw-away root filesystem, for ignity's
// integration tests.
//
// Contract:
//
//   - A test package that uses the harness calls Init first in its TestMain.
//     The harness re-executes the test binary (/proc/self/exe) with clone
//     flags for the new namespaces; in that child, Init builds the mounts
//     (private propagation, /proc, a minimal /dev, tmpfs mounts, optional
//     read-only root), chroots, drops to Options.User, resets signal
//     dispositions and the signal mask to what a fresh process has, and execs
//     argv[0]. The target therefore is PID 1 itself, and the test process,
//     being its parent, receives PID 1's real wait status.
//   - Nothing here touches the host's mounts: every mount lives in the child's
//     private mount namespace and vanishes with it. When PID 1 exits or is
//     killed, the kernel kills everything else in its pid namespace.
//   - Root filesystems are copies of a cached base (BaseDir, built once by
//     scripts/mkrootfs.sh) in t.TempDir(), so tests may modify them freely.
//   - Tests skip with a precise reason when the machine cannot run them (not
//     root, no tarball); IGNITY_REQUIRE_INTEGRATION=1 turns those skips into
//     failures, for CI.
//
// Environment: IGNITY_TARBALL (release tarball to test), IGNITY_CACHE (cache
// directory, default $XDG_CACHE_HOME/ignity or ~/.cache/ignity),
// IGNITY_REQUIRE_INTEGRATION.
package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/modroot"
)

// Base names a base root filesystem kind built by scripts/mkrootfs.sh.
type Base string

const (
	// Busybox is Debian's busybox-static alone, /bin a real directory.
	Busybox Base = "busybox"
	// Debian is Debian bookworm minbase from debootstrap (usrmerged).
	Debian Base = "debian"
	// BusyboxArm64 is Busybox for arm64 (Debian trixie's busybox-static),
	// where the aarch64 release boots under qemu-user (see Qemu).
	BusyboxArm64 Base = "busybox-arm64"
)

// initCalled records that Init ran in this (parent) process, so Start can
// refuse to re-execute a binary whose TestMain would run the tests again.
var initCalled bool

// Init must be the first call in TestMain. In the harness's namespace child
// it sets up the root and execs the target, never returning; in any other
// process it returns at once.
func Init() {
	if spec, ok := os.LookupEnv(childEnv); ok {
		runChild(spec)
		// runChild never returns.
	}
	initCalled = true
}

// requireIntegration reports whether skips must become failures.
func requireIntegration() bool {
	return os.Getenv("IGNITY_REQUIRE_INTEGRATION") == "1"
}

// skip skips the test, or fails it when IGNITY_REQUIRE_INTEGRATION=1.
func skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if requireIntegration() {
		t.Fatalf("%s (IGNITY_REQUIRE_INTEGRATION=1)", msg)
	}
	t.Skip(msg)
}

// Capabilities the child needs: chroot, mount, and clone with new namespaces.
const (
	capSysChroot = 18
	capSysAdmin  = 21
)

// RequireRoot skips the test unless the process can create namespaces, mount
// and chroot (root with CAP_SYS_ADMIN and CAP_SYS_CHROOT); with
// IGNITY_REQUIRE_INTEGRATION=1 it fails the test instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		skip(t, "namespace integration test: needs Linux, running on %s", runtime.GOOS)
		return
	}
	if uid := os.Geteuid(); uid != 0 {
		skip(t, "namespace integration test: needs root to create pid/mount namespaces, mount and chroot (euid is %d)", uid)
		return
	}
	caps, err := effectiveCaps()
	if err != nil {
		skip(t, "namespace integration test: cannot read capabilities: %v", err)
		return
	}
	for _, c := range []struct {
		bit  uint
		name string
	}{{capSysAdmin, "CAP_SYS_ADMIN"}, {capSysChroot, "CAP_SYS_CHROOT"}} {
		if caps&(1<<c.bit) == 0 {
			skip(t, "namespace integration test: root lacks %s (CapEff %#x), as in an unprivileged container", c.name, caps)
			return
		}
	}
}

// effectiveCaps returns the CapEff mask from /proc/self/status.
func effectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapEff line in /proc/self/status")
}

// Tarball returns the release tarball to test: $IGNITY_TARBALL, or else the
// newest dist/ignity-*-<arch>.tar.gz under the module root. When there is
// none, the test is skipped (failed with IGNITY_REQUIRE_INTEGRATION=1).
func Tarball(t testing.TB) string {
	t.Helper()
	return TarballFor(t, tarballArch())
}

// TarballFor is Tarball for the release of arch (x86_64, aarch64), which
// may be another than the host's: $IGNITY_TARBALL_AARCH64 names the
// aarch64 one, $IGNITY_TARBALL the host's own.
func TarballFor(t testing.TB, arch string) string {
	t.Helper()
	var envs []string
	if arch == "aarch64" {
		envs = append(envs, "IGNITY_TARBALL_AARCH64")
	}
	if arch == tarballArch() {
		envs = append(envs, "IGNITY_TARBALL")
	}
	for _, env := range envs {
		if p := os.Getenv(env); p != "" {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s: %v", env, err)
			}
			return p
		}
	}
	mod, err := ModuleRoot()
	if err != nil {
		t.Fatalf("find module root: %v", err)
	}
	pattern := filepath.Join(mod, "dist", "ignity-*-"+arch+".tar.gz")
	matches, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatalf("glob %s: %v", pattern, err)
	}
	type cand struct {
		path string
		mod  time.Time
	}
	var cands []cand
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			cands = append(cands, cand{m, fi.ModTime()})
		}
	}
	if len(cands) == 0 {
		skip(t, "no release tarball: %s matches nothing and %s is unset; run task package", pattern, strings.Join(envs, ", "))
		return ""
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].mod.After(cands[j].mod) })
	return cands[0].path
}

// tarballArch is the architecture suffix of release tarball names.
func tarballArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}

// ModuleRoot is the module's root directory, the one holding go.mod
// (see package modroot).
func ModuleRoot() (string, error) { return modroot.Find() }

// PollUntil calls cond every few milliseconds until it returns true, and fails
// the test naming what was awaited if that takes longer than d.
func PollUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
