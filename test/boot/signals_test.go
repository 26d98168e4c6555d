package boot_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
	"golang.org/x/sys/unix"
)

// The CMD of the signal tests: it traps the signals PID 1 forwards, says
// what it got, and exits 7 once the test releases it.
const trappingCmd = `#!/bin/sh
for s in HUP USR1 USR2 WINCH; do trap "echo got-$s" $s; done
echo cmd-started
while [ ! -e /tmp/release ]; do sleep 0.02; done
exit 7
`

var forwarded = []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// permsWork gives the perms phase work that lasts: a fresh tmpfs at /data
// with 20,000 files whose mode the perms line changes, each change a
// debug line at IGNITY_VERBOSITY=2.
func permsWork(t *testing.T, r *harness.Root) {
	t.Helper()
	dir := r.Path("/data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m,nr_inodes=100000"); err != nil {
		t.Skipf("mount a tmpfs for the perms tree: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	for i := 0; i < 100; i++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i))
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 200; j++ {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d", j)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	boottest.File(t, r, "/etc/ignity/perms/10-data", "/data 0:0 0644 0755\n")
}

// permDebug is the first debug line of a change perms makes: the signals
// are sent then, with some 20,000 changes still to go.
const permDebug = "[supervisor/perm] debug: "

// TestSignalsDuringBoot sends HUP, USR1, USR2 and WINCH at three moments
// of the boot, each when a log line shows it has come: the boot goes on,
// the CMD runs and the container exits with its status. Before s6-svscan
// is ready (perms) they are dropped with a debug line; once the CMD runs
// they reach it.
func TestSignalsDuringBoot(t *testing.T) {
	harness.RequireRoot(t)
	tarball := harness.Tarball(t)
	for _, tt := range []struct {
		name      string
		setup     func(t *testing.T, r *harness.Root)
		when      string // the line after which the signals are sent
		dropped   bool
		forwarded bool
	}{
		{"during perms", permsWork, permDebug, true, false},
		{"during an init script", func(t *testing.T, r *harness.Root) {
			boottest.Script(t, r, "/etc/ignity/init/10-wait", "#!/bin/sh\necho init-running\n"+
				"while [ ! -e /tmp/init-go ]; do sleep 0.02; done\n")
		}, "init-running", false, false},
		{"after the CMD starts", func(t *testing.T, r *harness.Root) {}, "cmd-started", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := boottest.NewRoot(t, harness.Busybox, tarball)
			tt.setup(t, r)
			boottest.Script(t, r, "/usr/local/bin/trapping-cmd", trappingCmd)
			p := r.Start(t, harness.Options{Timeout: 60 * time.Second, Env: boottest.Env("IGNITY_VERBOSITY=2")}, "/init", "/usr/local/bin/trapping-cmd")
			p.WaitOutput(t, tt.when, 30*time.Second)
			for _, s := range forwarded {
				if err := p.Signal(s); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.dropped && !tt.forwarded {
				// s6-svscan runs each handler as a process of its own: wait
				// until all have run, or one could find the CMD started.
				for _, s := range forwarded {
					what := "dropped"
					if s == syscall.SIGHUP {
						what = "rescanning the services"
					}
					p.WaitOutput(t, fmt.Sprintf("[supervisor/signal] debug: %s with no CMD running: %s", unix.SignalName(s), what), boottest.Short)
				}
			}
			boottest.File(t, r, "/tmp/init-go", "")
			p.WaitOutput(t, "cmd-started", 30*time.Second)
			if tt.forwarded {
				for _, s := range forwarded {
					p.WaitOutput(t, "got-"+strings.TrimPrefix(unix.SignalName(s), "SIG"), boottest.Short)
				}
			}
			boottest.File(t, r, "/tmp/release", "")
			res := p.Wait()
			boottest.WantExit(t, res, 7)
			for _, s := range forwarded {
				line := fmt.Sprintf("[supervisor/signal] debug: %s before s6-svscan is ready: dropped", unix.SignalName(s))
				if got := strings.Contains(res.Stderr, line); got != tt.dropped {
					t.Errorf("%q in the log: %v, want %v\n%s", line, got, tt.dropped, res)
				}
				if tt.dropped && strings.Index(res.Stderr, line) > strings.Index(res.Stderr, "[supervisor/perm] Ownership & permissions fixes applied") {
					t.Errorf("%s was not received during perms\n%s", unix.SignalName(s), res)
				}
			}
		})
	}
}

// TestHangUpThenTermDuringPerms: a SIGTERM after a SIGHUP, both before
// s6-svscan is ready, still stops the container, normally (finalize
// scripts run) and within the shutdown bound; the CMD never starts.
func TestHangUpThenTermDuringPerms(t *testing.T) {
	harness.RequireRoot(t)
	r := boottest.NewRoot(t, harness.Busybox, harness.Tarball(t))
	permsWork(t, r)
	boottest.Script(t, r, "/etc/ignity/finalize/10-mark", "#!/bin/sh\ntouch /tmp/finalized\n")
	boottest.Script(t, r, "/usr/local/bin/trapping-cmd", trappingCmd)
	p := r.Start(t, harness.Options{Timeout: 60 * time.Second, Env: boottest.Env("IGNITY_VERBOSITY=2")}, "/init", "/usr/local/bin/trapping-cmd")
	p.WaitOutput(t, permDebug, 30*time.Second)
	start := time.Now()
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM} {
		if err := p.Signal(s); err != nil {
			t.Fatal(err)
		}
	}
	res := p.Wait()
	d := time.Since(start)
	boottest.WantExit(t, res, 0)
	boottest.WantOutput(t, res, "[supervisor/signal] debug: SIGHUP before s6-svscan is ready: dropped",
		"[supervisor/signal] debug: SIGTERM during the boot", "[supervisor/finalize] Sending all processes the kill signal and exiting")
	if !boottest.Exists(r, "/tmp/finalized") {
		t.Errorf("the finalize script did not run\n%s", res)
	}
	if strings.Contains(res.Output, "cmd-started") {
		t.Errorf("the CMD started after a SIGTERM\n%s", res)
	}
	// The default bound: max(5 s of services, 1 finalize script x 5 s) + 3 s.
	if d > 8*time.Second {
		t.Errorf("SIGTERM to exit took %v, over the 8 s bound\n%s", d, res)
	}
	t.Logf("SIGTERM during perms to exit: %v", d.Round(time.Millisecond))
}
