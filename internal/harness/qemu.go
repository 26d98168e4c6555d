package harness

// Running aarch64 programs on another host: the kernel's binfmt_misc hands
// every aarch64 ELF program it is asked to exec to Debian's qemu-user-static.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	binfmtDir = "/proc/sys/fs/binfmt_misc"
	// qemuHandler is the name Debian's qemu-user-static (and qemu's own
	// qemu-binfmt-conf.sh) register the aarch64 handler under.
	qemuHandler = "qemu-aarch64"
	// qemuConf is Debian's registration line for it: magic and mask of an
	// aarch64 ELF header, the interpreter, and the flags (F among them).
	qemuConf = "/usr/lib/binfmt.d/qemu-aarch64.conf"
)

// Qemu is the state of the qemu-aarch64 handler for a test binary.
type Qemu struct {
	// Refused is why the machine does not let aarch64 programs run (no
	// binfmt_misc, registration denied, an unusable handler already there);
	// "" when they run. Tests skip with it, loudly, even under
	// IGNITY_REQUIRE_INTEGRATION=1: the machine decides this, not the
	// project's set-up.
	Refused string
	// Missing is set up that the project's set-up should have done
	// (scripts/setup.sh installs qemu-user-static): tests skip with it, or
	// fail under IGNITY_REQUIRE_INTEGRATION=1.
	Missing string

	lock              *os.File
	registered, mount bool
}

// QemuAarch64 makes the kernel run aarch64 ELF programs through
// qemu-user-static until Undo, for TestMain (on an arm64 host it does
// nothing: they run natively). It mounts binfmt_misc at
// /proc/sys/fs/binfmt_misc if it is not mounted, and registers Debian's
// qemu-aarch64 handler if none exists. The handler has the F flag: the
// kernel opens the interpreter at registration, so programs run inside a
// chroot that has no qemu. A handler that already exists is used as it is,
// and kept; Undo removes only what QemuAarch64 added. Test binaries that
// call it take turns (a lock under the cache), so that one does not remove
// the handler under another.
func QemuAarch64() *Qemu {
	q := &Qemu{}
	if runtime.GOARCH == "arm64" {
		return q // aarch64 programs run natively
	}
	if os.Geteuid() != 0 {
		q.Missing = fmt.Sprintf("registering a binfmt_misc handler needs root (euid is %d)", os.Geteuid())
		return q
	}
	if cache, err := cacheDir(); err == nil && os.MkdirAll(cache, 0o755) == nil {
		if f, err := os.OpenFile(filepath.Join(cache, "binfmt-qemu-aarch64.lock"), os.O_RDWR|os.O_CREATE, 0o644); err == nil {
			if unix.Flock(int(f.Fd()), unix.LOCK_EX) == nil {
				q.lock = f
			} else {
				f.Close()
			}
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(binfmtDir, &st); err != nil || st.Type != unix.BINFMTFS_MAGIC {
		if err := unix.Mount("binfmt_misc", binfmtDir, "binfmt_misc", 0, ""); err != nil {
			q.Refused = fmt.Sprintf("cannot mount binfmt_misc at %s: %v", binfmtDir, err)
			return q
		}
		q.mount = true
	}
	if b, err := os.ReadFile(filepath.Join(binfmtDir, qemuHandler)); err == nil {
		// Someone else's handler: usable only if enabled, and, for a
		// chroot without qemu in it, with the F flag.
		text := string(b)
		switch {
		case !strings.HasPrefix(text, "enabled"):
			q.Refused = fmt.Sprintf("the existing binfmt_misc handler %s is disabled", qemuHandler)
		case !hasFlag(text, 'F'):
			q.Refused = fmt.Sprintf("the existing binfmt_misc handler %s lacks the F flag, so it cannot run programs in a chroot without qemu; re-register it with F", qemuHandler)
		}
		return q
	}
	conf, err := os.ReadFile(qemuConf)
	if err != nil {
		q.Missing = fmt.Sprintf("no qemu-user-static (%v): scripts/setup.sh installs it", err)
		return q
	}
	line := strings.TrimSpace(string(conf))
	fields := strings.Split(line, ":")
	if len(fields) != 8 || fields[1] != qemuHandler || !strings.Contains(fields[7], "F") {
		q.Missing = fmt.Sprintf("%s: want one registration line for %s with the F flag, got %q", qemuConf, qemuHandler, line)
		return q
	}
	if _, err := os.Stat(fields[6]); err != nil {
		q.Missing = fmt.Sprintf("%s names interpreter %s: %v", qemuConf, fields[6], err)
		return q
	}
	if err := os.WriteFile(filepath.Join(binfmtDir, "register"), []byte(line), 0); err != nil {
		q.Refused = fmt.Sprintf("cannot register %s in %s/register: %v", qemuHandler, binfmtDir, err)
		return q
	}
	q.registered = true
	return q
}

// hasFlag reports whether a handler's "flags:" line holds flag.
func hasFlag(status string, flag byte) bool {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			return strings.IndexByte(v, flag) >= 0
		}
	}
	return false
}

// Undo removes the handler and unmounts binfmt_misc if QemuAarch64 added
// them, and lets the next test binary go.
func (q *Qemu) Undo() error {
	var errs []error
	if q.registered {
		// Writing -1 to a handler's file removes it.
		errs = append(errs, os.WriteFile(filepath.Join(binfmtDir, qemuHandler), []byte("-1"), 0))
	}
	if q.mount {
		errs = append(errs, unix.Unmount(binfmtDir, 0))
	}
	if q.lock != nil {
		q.lock.Close()
	}
	return errors.Join(errs...)
}

// Require skips the test unless aarch64 programs run: loudly, naming why,
// when the machine refuses (never a failure, even with
// IGNITY_REQUIRE_INTEGRATION=1), and like a missing tool otherwise.
func (q *Qemu) Require(t testing.TB) {
	t.Helper()
	if q.Missing != "" {
		if requireIntegration() {
			t.Fatalf("aarch64 under qemu: %s (IGNITY_REQUIRE_INTEGRATION=1)", q.Missing)
		}
		t.Skipf("aarch64 under qemu: %s", q.Missing)
	}
	if q.Refused != "" {
		msg := "=== AARCH64 BOOT SKIPPED: the machine refuses qemu-user: " + q.Refused + " ==="
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
}
