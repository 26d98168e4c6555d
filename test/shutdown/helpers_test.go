package shutdown_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// Log lines the tests wait for or expect: the end of the boot, the end of
// the finalize scripts, and the last line of every shutdown.
const (
	servicesUp   = "[supervisor/service] Services started"
	finalizeDone = "[supervisor/finalize] Finalize scripts executed"
	lastLine     = "[supervisor/finalize] Sending all processes the kill signal and exiting"
)

// serially runs f on a fresh installed root of each base, one base after
// the other, for tests that measure time.
func serially(t *testing.T, f func(t *testing.T, r *harness.Root)) {
	t.Helper()
	harness.RequireRoot(t)
	tarball := harness.Tarball(t)
	for _, b := range boottest.Bases {
		t.Run(string(b), func(t *testing.T) {
			f(t, boottest.NewRoot(t, b, tarball))
		})
	}
}

// stop sends sig to PID 1 and waits for the container to end. The
// duration runs from just before the signal to PID 1's exit.
func stop(t *testing.T, p *harness.Proc, sig syscall.Signal) (*harness.Result, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.Signal(sig); err != nil {
		t.Fatalf("send %v to PID 1: %v", sig, err)
	}
	res := p.Wait()
	return res, time.Since(start)
}

// waitFiles waits until every path exists in the root, as the host sees
// it, and fails the test naming them after d.
func waitFiles(t *testing.T, r *harness.Root, d time.Duration, paths ...string) {
	t.Helper()
	harness.PollUntil(t, d, "files "+strings.Join(paths, ", "), func() bool {
		for _, p := range paths {
			if !boottest.Exists(r, p) {
				return false
			}
		}
		return true
	})
}

// countFiles counts the entries of the root matching a glob.
func countFiles(r *harness.Root, glob string) int {
	m, _ := filepath.Glob(r.Path(filepath.Dir(glob)) + "/" + filepath.Base(glob))
	return len(m)
}

// within fails the test unless d is in [lo, hi]; it logs d either way, so
// that go test -v shows the figures.
func within(t *testing.T, what string, d, lo, hi time.Duration, res *harness.Result) {
	t.Helper()
	t.Logf("%s: %v", what, d.Round(time.Millisecond))
	if d < lo || d > hi {
		t.Errorf("%s took %v, want between %v and %v\n%s", what, d.Round(time.Millisecond), lo, hi, res)
	}
}

// mkdir creates a directory of the root (busybox roots lack /var/log).
func mkdir(t *testing.T, r *harness.Root, path string) {
	t.Helper()
	if err := os.MkdirAll(r.Path(path), 0o755); err != nil {
		t.Fatal(err)
	}
}

// wantInOrder fails unless stream (res.Stdout or res.Stderr) holds every
// line, in this order. Only one stream has an order: the harness reads
// stdout and stderr through separate pipes, so Output interleaves them in
// the order it happened to read them.
func wantInOrder(t *testing.T, res *harness.Result, stream string, lines ...string) {
	t.Helper()
	at := 0
	for _, l := range lines {
		i := strings.Index(stream[at:], l)
		if i < 0 {
			t.Errorf("%q missing or out of order in its stream\n%s", l, res)
			return
		}
		at += i + len(l)
	}
}
