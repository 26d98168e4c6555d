package shutdown_test

// What no other process of the container may subvert, and the faults a
// stop must survive: /run/ignity writable by other uids (1777 under
// docker run --tmpfs, 0777 as a Kubernetes emptyDir, 0775 root:0 with the
// installer), a full /run/ignity, a CMD that exits at a second SIGTERM.

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

// attack is what the unprivileged service does as soon as it starts, in
// /run/ignity: plant the state files of the old layout and what it can
// guess of the new one (a shutdown already requested, exit status 0),
// symlinks where the restart records are written, and an envdir of its
// own with PATH=/attacker. It reports each step it got through, then
// waits.
const attack = `#!/bin/sh
cd /run/ignity || exit 1
for f in .shutdown .exit-status .cmd-pgid .early-signal .state/record .state/lock .state/boot .state/knobs; do
	echo 0 > "$f" 2>/dev/null && echo "attacker: wrote $f"
done
for d in .restarts .state/restarts; do
	mkdir -p "$d" 2>/dev/null
	ln -s /victim "$d/.crash.new" 2>/dev/null && echo "attacker: planted $d/.crash.new"
done
if mv envs envs.old 2>/dev/null || rm -rf envs 2>/dev/null; then
	mkdir envs && printf /attacker > envs/PATH && echo "attacker: replaced envs"
fi
if mv .state .state.old 2>/dev/null; then
	mkdir .state && echo "attacker: replaced .state"
fi
touch /tmp/attacked
exec sleep 1000
`

// attacked boots a root whose /run/ignity has mode and owner root:0,
// with the attacker's service running as uid 1000 and group gid, a
// service that dies once after the attack (its finish writes a restart
// record), a root finalize script that records its PATH, and a root file
// /victim only root may read.
func attacked(t *testing.T, mode os.FileMode, gid int) *harness.Root {
	r := boottest.NewRoot(t, harness.Debian, harness.Tarball(t))
	run := r.Path("/run/ignity")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(run, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(run, mode); err != nil {
		t.Fatal(err)
	}
	boottest.Script(t, r, "/attack.sh", attack)
	boottest.Script(t, r, "/etc/ignity/services/evil/run",
		fmt.Sprintf("#!/bin/sh\nexec s6-applyuidgid -u 1000 -g %d -G %d /bin/sh /attack.sh\n", gid, gid))
	boottest.Script(t, r, "/etc/ignity/services/crash/run", `#!/bin/sh
while [ ! -e /tmp/attacked ]; do sleep 0.02; done
[ -e /tmp/crashed ] && { touch /tmp/crash-again; exec sleep 1000; }
touch /tmp/crashed
exit 3
`)
	boottest.Script(t, r, "/etc/ignity/finalize/10-path", "#!/bin/sh\necho \"$PATH\" > /finalize-path\n")
	if err := os.WriteFile(r.Path("/victim"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// untouched fails the test unless the attack changed nothing that
// matters: /victim as it was, and the finalize script ran with the
// image's PATH, not the attacker's.
func untouched(t *testing.T, r *harness.Root, res *harness.Result) {
	t.Helper()
	if got := boottest.Read(t, r, "/victim"); got != "secret\n" {
		t.Errorf("/victim became %q through a planted symlink\n%s", got, res)
	}
	if _, _, mode := boottest.Owner(t, r, "/victim"); mode.Perm() != 0o600 {
		t.Errorf("/victim mode %v, want 0600", mode)
	}
	path := boottest.Read(t, r, "/finalize-path")
	if path == "" || strings.Contains(path, "/attacker") {
		t.Errorf("the root finalize script ran with PATH %q, want the image's\n%s", path, res)
	}
}

// TestUnprivilegedServiceCannotSubvertStop: with /run/ignity writable by
// other uids, an unprivileged service's planted files change nothing:
// the CMD's exit still stops the container with the CMD's status, a
// SIGTERM still runs the finalize scripts, no file outside is rewritten
// through a symlink, and the root finalize script gets the image's PATH.
func TestUnprivilegedServiceCannotSubvertStop(t *testing.T) {
	harness.RequireRoot(t)
	for _, tt := range []struct {
		name string
		mode os.FileMode
		gid  int
	}{
		{"1777 (docker run --tmpfs)", 0o777 | os.ModeSticky, 1000},
		{"0777 (Kubernetes emptyDir)", 0o777, 1000},
		{"0775 root:0, attacker in group 0", 0o775, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Run("CMD exits 42", func(t *testing.T) {
				r := attacked(t, tt.mode, tt.gid)
				res := r.Boot(t, harness.Options{Timeout: 30 * time.Second}, "/init", "sh", "-c",
					"i=0; while [ ! -e /tmp/crash-again ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done; exit 42")
				boottest.WantExit(t, res, 42)
				boottest.WantOutput(t, res, "exited 42", finalizeDone, lastLine)
				if !boottest.Exists(r, "/tmp/crash-again") {
					t.Errorf("the crash service did not die and come back\n%s", res)
				}
				untouched(t, r, res)
			})
			t.Run("SIGTERM", func(t *testing.T) {
				r := attacked(t, tt.mode, tt.gid)
				p := r.Start(t, harness.Options{Timeout: 30 * time.Second}, "/init")
				waitFiles(t, r, 10*time.Second, "/tmp/crash-again")
				res, _ := stop(t, p, syscall.SIGTERM)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, finalizeDone, lastLine)
				untouched(t, r, res)
			})
		})
	}
}

// TestFullRunDir: with /run/ignity full (a small tmpfs the CMD fills once
// the boot is done), a SIGTERM still runs the finalize scripts and stops
// the services, and the CMD's exit status still decides the container's.
func TestFullRunDir(t *testing.T) {
	const fill = `i=0; while dd if=/dev/zero of=/run/ignity/fill$i bs=4096 count=64 2>/dev/null; do i=$((i+1)); done
dd if=/dev/zero of=/run/ignity/last bs=1 count=4096 2>/dev/null
echo x > /run/ignity/probe 2>/dev/null && { echo "not full"; exit 99; }
echo filled; `
	for _, tt := range []struct {
		name string
		cmd  string
		term bool
		want int
	}{
		{"SIGTERM", fill + "exec sleep 1000", true, 143},
		{"CMD exits 3", fill + "exit 3", false, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/ignity/finalize/10-mark", "#!/bin/sh\necho finalized > /finalized\n")
				boottest.Script(t, r, "/etc/ignity/services/svc/run",
					"#!/bin/sh\ntrap 'echo stopped > /svc-stopped; exit 0' TERM\nwhile :; do sleep 0.05; done\n")
				o := harness.Options{Timeout: 30 * time.Second, Tmpfs: []string{"/run/ignity:size=2m,mode=0755"}}
				p := r.Start(t, o, "/init", "sh", "-c", tt.cmd)
				var res *harness.Result
				if tt.term {
					p.WaitOutput(t, "filled", boottest.Short)
					res, _ = stop(t, p, syscall.SIGTERM)
				} else {
					res = p.Wait()
				}
				boottest.WantExit(t, res, tt.want)
				boottest.WantOutput(t, res, "filled", finalizeDone, lastLine)
				if got := boottest.Read(t, r, "/finalized"); got != "finalized\n" {
					t.Errorf("the finalize script did not run\n%s", res)
				}
				if tt.term && !boottest.Exists(r, "/svc-stopped") {
					t.Errorf("the service did not get its SIGTERM\n%s", res)
				}
			})
		})
	}
}

// TestCmdGetsOneStopSignal: a CMD that counts SIGTERMs and exits 1 at
// the second (Kubernetes' SetupSignalHandler pattern, many Go and Node
// servers) finishes its graceful stop and gives its own status, run
// after run. bash runs a trap once per signal received.
func TestCmdGetsOneStopSignal(t *testing.T) {
	harness.RequireRoot(t)
	r := boottest.NewRoot(t, harness.Debian, harness.Tarball(t))
	boottest.Script(t, r, "/cmd.sh", `#!/bin/bash
n=0
trap 'n=$((n+1)); echo "cmd: SIGTERM $n"; [ $n -ge 2 ] && exit 1' TERM
echo cmd-up
while [ $n -eq 0 ]; do sleep 0.02; done
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 0.02; done
exit 7
`)
	for i := range 5 {
		p := r.Start(t, harness.Options{Timeout: 30 * time.Second}, "/init", "/cmd.sh")
		p.WaitOutput(t, "cmd-up", boottest.Short)
		res, _ := stop(t, p, syscall.SIGTERM)
		if res.ExitCode != 7 || strings.Contains(res.Output, "cmd: SIGTERM 2") {
			t.Errorf("run %d: the CMD got its stop signal more than once, or did not finish its graceful stop\n%s", i, res)
		}
	}
}
