// Package boottest holds what the black-box suites share on top of the
// harness: a root installed the way the README documents (tarball, then
// the installer) on each base, files written into it, and assertions on
// how a boot ended.
package boottest

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
)

// Short bounds a boot that should end at once.
const Short = 10 * time.Second

// Bases are the root filesystems every behaviour is checked on.
var Bases = []harness.Base{harness.Busybox, harness.Debian}

// OnBases runs f, in parallel, on a fresh installed root of each base.
func OnBases(t *testing.T, f func(t *testing.T, r *harness.Root)) {
	t.Helper()
	harness.RequireRoot(t)
	tarball := harness.Tarball(t)
	for _, b := range Bases {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f(t, NewRoot(t, b, tarball))
		})
	}
}

// NewRoot is a throw-away root of base b with ignity installed as the
// README documents it: the tarball extracted at /, then
// /usr/src/install-ignity.sh.
func NewRoot(t *testing.T, b harness.Base, tarball string) *harness.Root {
	t.Helper()
	r := harness.NewRoot(t, b, tarball)
	res := r.Boot(t, harness.Options{Timeout: Short}, "/bin/sh", "/usr/src/install-ignity.sh")
	if res.ExitCode != 0 {
		t.Fatalf("install-ignity.sh failed:\n%s", res)
	}
	return r
}

// Script writes an executable file into the root.
func Script(t *testing.T, r *harness.Root, path, body string) {
	t.Helper()
	r.WriteFile(t, path, 0o755, body)
}

// File writes a plain file into the root.
func File(t *testing.T, r *harness.Root, path, body string) {
	t.Helper()
	r.WriteFile(t, path, 0o644, body)
}

// Read returns a file of the root.
func Read(t *testing.T, r *harness.Root, path string) string {
	t.Helper()
	b, err := os.ReadFile(r.Path(path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// Exists reports whether path exists in the root.
func Exists(r *harness.Root, path string) bool {
	_, err := os.Lstat(r.Path(path))
	return err == nil
}

// Owner returns the uid, gid and mode bits of a path of the root.
func Owner(t *testing.T, r *harness.Root, path string) (int, int, os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(r.Path(path))
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid), fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSetuid)
}

// Env is a PID 1 environment: a PATH plus kv.
func Env(kv ...string) []string {
	return append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, kv...)
}

// WantExit fails unless the boot ended by itself with code.
func WantExit(t *testing.T, res *harness.Result, code int) {
	t.Helper()
	if res.ExitCode != code || res.TimedOut {
		t.Fatalf("exit %d (timed out: %v), want %d\n%s", res.ExitCode, res.TimedOut, code, res)
	}
}

// WantOutput fails for every line missing from the output.
func WantOutput(t *testing.T, res *harness.Result, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(res.Output, l) {
			t.Errorf("output lacks %q\n%s", l, res)
		}
	}
}

// WantNoOutput fails if s is in the output. The [supervisor/cmd] line
// repeats the CMD, so s must not be spelled out in the CMD itself.
func WantNoOutput(t *testing.T, res *harness.Result, s string) {
	t.Helper()
	if strings.Contains(res.Output, s) {
		t.Errorf("output contains %q\n%s", s, res)
	}
}

// WaitFor is a sh fragment that polls for path for at most 5 s (exit 99).
func WaitFor(path string) string {
	return `i=0; while [ ! -e ` + path + ` ]; do i=$((i+1)); [ $i -gt 500 ] && { echo "timeout waiting for ` + path + `"; exit 99; }; sleep 0.01; done; `
}
