package shutdown_test

// The CMD as tini runs it: each check boots the CMD under ignity and,
// where the harness can, under tini as PID 1 in the same root (a static
// tini copied from the host's Debian tini package), so that a run shows
// the two side by side.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// tini installs the host's static tini in the root as /sbin/tini and
// returns the argv prefix that runs a CMD under it, or skips.
func tini(t *testing.T, r *harness.Root) []string {
	t.Helper()
	b, err := os.ReadFile("/usr/bin/tini-static")
	if err != nil {
		t.Skipf("no static tini to compare with (apt-get install tini): %v", err)
	}
	r.WriteFile(t, "/sbin/tini", 0o755, string(b))
	return []string{"/sbin/tini", "--"}
}

// TestCmdStatusLikeTini: the container's status is the CMD's exactly, as
// under tini: codes above 128 are not capped, and a death by signal n is
// 128+n. ignity's log line says the same number.
func TestCmdStatusLikeTini(t *testing.T) {
	type status struct {
		script string
		want   int
	}
	cases := []status{
		{"kill -TERM $$", 143},
		{"kill -KILL $$", 137},
		{"kill -INT $$", 130},
		{"kill -SEGV $$", 139},
		// A wrapper passing on what killed its child.
		{"sleep 100 & p=$!; kill -KILL $p; wait $p; exit $?", 137},
	}
	for _, n := range []int{0, 1, 2, 126, 127, 128, 129, 130, 137, 143, 200, 255} {
		cases = append(cases, status{fmt.Sprintf("exit %d", n), n})
	}
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		under := tini(t, r)
		for _, c := range cases {
			res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", c.script)
			if res.ExitCode != c.want || res.TimedOut || !strings.Contains(res.Output, fmt.Sprintf("exited %d\n", c.want)) {
				t.Errorf("ignity: %q: exit %d, want %d with its line\n%s", c.script, res.ExitCode, c.want, res)
			}
			res = r.Boot(t, harness.Options{Timeout: boottest.Short}, append(under, "sh", "-c", c.script)...)
			if res.ExitCode != c.want {
				t.Errorf("tini: %q: exit %d, want %d\n%s", c.script, res.ExitCode, c.want, res)
			}
		}
	})
}

// TestCmdAllExitCodes: every code from 0 to 255 comes out unchanged. One
// boot per code, on the busybox base, the fastest.
func TestCmdAllExitCodes(t *testing.T) {
	harness.RequireRoot(t)
	r := boottest.NewRoot(t, harness.Busybox, harness.Tarball(t))
	for n := 0; n < 256; n++ {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_VERBOSITY=0")}, "/init", "sh", "-c", "exit "+strconv.Itoa(n))
		if res.ExitCode != n || res.TimedOut {
			t.Errorf("exit %d: container exited %d\n%s", n, res.ExitCode, res)
		}
	}
}

// TestCmdTrapsTermLikeTini: docker stop, a CMD whose TERM handler exits
// 143: the container exits 143, not 128.
func TestCmdTrapsTermLikeTini(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		script := `trap 'exit 143' TERM; echo cmd-""up; while :; do sleep 0.05; done`
		for _, argv := range [][]string{{"/init"}, tini(t, r)} {
			p := r.Start(t, harness.Options{Timeout: boottest.Short}, append(argv, "sh", "-c", script)...)
			p.WaitOutput(t, "cmd-up", boottest.Short)
			res, _ := stop(t, p, syscall.SIGTERM)
			boottest.WantExit(t, res, 143)
		}
	})
}

// forwarded are the signals s6-svscan lets ignity pass on to the CMD.
var forwarded = []string{"HUP", "INT", "QUIT", "USR1", "USR2", "PWR", "WINCH"}

// TestSignalsReachCmdOnceLikeTini: each signal s6-svscan can divert
// reaches the CMD once, unchanged, while the container keeps running; a
// SIGTERM then stops it. The CMD writes what it gets into a file.
func TestSignalsReachCmdOnceLikeTini(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		var traps string
		for _, s := range forwarded {
			traps += fmt.Sprintf("trap 'echo %s >> /got' %s; ", s, s)
		}
		script := traps + `echo cmd-""up; while :; do sleep 0.02; done`
		for _, argv := range [][]string{{"/init"}, tini(t, r)} {
			os.Remove(r.Path("/got"))
			p := r.Start(t, harness.Options{Timeout: 20 * time.Second}, append(argv, "sh", "-c", script)...)
			p.WaitOutput(t, "cmd-up", boottest.Short)
			for i, s := range forwarded {
				if err := p.Signal(syscall.Signal(sigNum(s))); err != nil {
					t.Fatal(err)
				}
				harness.PollUntil(t, boottest.Short, argv[0]+": "+s+" in /got", func() bool {
					b, _ := os.ReadFile(r.Path("/got"))
					return len(strings.Fields(string(b))) > i
				})
			}
			res, _ := stop(t, p, syscall.SIGTERM)
			boottest.WantExit(t, res, 143)
			if got := strings.Join(strings.Fields(boottest.Read(t, r, "/got")), " "); got != strings.Join(forwarded, " ") {
				t.Errorf("%s: the CMD got %q, want each of %q once", argv[0], got, forwarded)
			}
		}
	})
}

func sigNum(name string) int {
	return map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "USR1": 10, "USR2": 12, "PWR": 30, "WINCH": 28}[name]
}

// TestSigintToPid1 is docker kill -s INT (or Ctrl-C through docker's
// sig-proxy): the CMD gets SIGINT and dies of it, 130, as under tini.
// IGNITY_CMD_RECEIVE_SIGNALS=0 keeps the older way: the container stops
// and the CMD gets its stop signal, SIGTERM (143). When SIGINT is the
// image's stop signal, it starts the shutdown, which sends it to the CMD.
func TestSigintToPid1(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		script := `echo cmd-""up; exec sleep 100`
		for _, tt := range []struct {
			name string
			argv []string
			env  []string
			want int
			line string
		}{
			{"ignity", []string{"/init"}, nil, 130, "exited 130"},
			{"tini", tini(t, r), nil, 130, ""},
			{"IGNITY_CMD_RECEIVE_SIGNALS=0", []string{"/init"}, []string{"IGNITY_CMD_RECEIVE_SIGNALS=0"}, 143, "exited 143"},
			{"S6_CMD_RECEIVE_SIGNALS=0", []string{"/init"}, []string{"S6_CMD_RECEIVE_SIGNALS=0"}, 143, "exited 143"},
			{"stop signal INT", []string{"/init"}, []string{"IGNITY_CMD_STOP_SIGNAL=INT", "IGNITY_VERBOSITY=2"}, 130, "shutdown: SIGINT"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := r.Start(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env(tt.env...)}, append(tt.argv, "sh", "-c", script)...)
				p.WaitOutput(t, "cmd-up", boottest.Short)
				res, _ := stop(t, p, syscall.SIGINT)
				boottest.WantExit(t, res, tt.want)
				if tt.line != "" {
					boottest.WantOutput(t, res, tt.line)
				}
			})
		}
	})
}

// TestCmdExecFailuresLikeTini: a CMD that is not found exits 127, one
// that exists but cannot be executed 126, each with its own message; a
// script without #! runs with /bin/sh, as execvp does.
func TestCmdExecFailuresLikeTini(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		r.WriteFile(t, "/usr/local/bin/notexec", 0o644, "#!/bin/sh\necho never\n")
		r.WriteFile(t, "/usr/local/bin/noshebang", 0o755, "echo ran-without-shebang \"$1\"\nexit 3\n")
		under := tini(t, r)
		for _, tt := range []struct {
			cmd  []string
			want int
			msg  string
		}{
			{[]string{"no-such-program"}, 127, "no-such-program: not found"},
			{[]string{"/usr/local/bin/no-such-program"}, 127, "no-such-program: not found"},
			{[]string{"notexec"}, 126, "notexec: permission denied: not executable"},
			{[]string{"/usr/local/bin/notexec"}, 126, "notexec: permission denied: not executable"},
			{[]string{"noshebang", "arg"}, 3, "ran-without-shebang arg"},
		} {
			res := r.Boot(t, harness.Options{Timeout: boottest.Short}, append([]string{"/init"}, tt.cmd...)...)
			if res.ExitCode != tt.want || !strings.Contains(res.Output, tt.msg) {
				t.Errorf("ignity: %q: exit %d, want %d and %q\n%s", tt.cmd, res.ExitCode, tt.want, tt.msg, res)
			}
			if tt.want == 126 && strings.Contains(res.Output, "not found") {
				t.Errorf("ignity: %q: says not found for a program that is there\n%s", tt.cmd, res)
			}
			res = r.Boot(t, harness.Options{Timeout: boottest.Short}, append(under, tt.cmd...)...)
			if res.ExitCode != tt.want {
				t.Errorf("tini: %q: exit %d, want %d\n%s", tt.cmd, res.ExitCode, tt.want, res)
			}
		}
	})
}

// TestCmdPathUnchanged: the CMD gets the PATH the image set, as under
// tini, and is looked up in the PATH an init script wrote into the
// envdir (s6-overlay images do), not in the one the container started
// with.
func TestCmdPathUnchanged(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		env := []string{"PATH=/usr/bin:/bin"}
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env}, "/init", "sh", "-c", `echo "path=[$PATH]"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "path=[/usr/bin:/bin]\n")
		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env}, append(tini(t, r), "sh", "-c", `echo "path=[$PATH]"`)...)
		boottest.WantOutput(t, res, "path=[/usr/bin:/bin]\n")

		r.WriteFile(t, "/opt/app/bin/myapp", 0o755, "#!/bin/sh\necho \"myapp ran, path=[$PATH]\"\n")
		boottest.Script(t, r, "/etc/ignity/init/10-path", "#!/bin/sh\nprintf /opt/app/bin:/usr/bin:/bin > /run/ignity/envs/PATH\n")
		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env}, "/init", "myapp")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "myapp ran, path=[/opt/app/bin:/usr/bin:/bin]\n")
	})
}

// TestWaiterKilled: the process that waits for the CMD is killed. The
// CMD's exit could no longer stop the container: it stops at once, with
// status 111 and a line that says what happened, instead of running on.
func TestWaiterKilled(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		p := r.Start(t, harness.Options{Timeout: 20 * time.Second}, "/init", "sh", "-c", `echo cmd-""up; exec sleep 100`)
		p.WaitOutput(t, "cmd-up", boottest.Short)
		waiter := 0
		harness.PollUntil(t, boottest.Short, "the CMD's waiter", func() bool {
			waiter = parentOf(findCmd(p.Pid(), "sleep"))
			return waiter > 0
		})
		if err := syscall.Kill(waiter, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		res := p.Wait()
		boottest.WantExit(t, res, 111)
		boottest.WantOutput(t, res, "[supervisor/cmd] the waiter of sh -c", "died before the CMD's exit was recorded: stopping the container")
		if res.Elapsed > 15*time.Second {
			t.Errorf("the container took %v to stop", res.Elapsed)
		}
	})
}

// TestCmdKillBoundSaid: a CMD still running at IGNITY_SERVICES_GRACETIME
// is about to be killed: one line names the knob to raise.
func TestCmdKillBoundSaid(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		env := boottest.Env("IGNITY_SERVICES_GRACETIME=300", "IGNITY_KILL_GRACETIME=300")
		p := r.Start(t, harness.Options{Timeout: boottest.Short, Env: env}, "/init", "sh", "-c", `trap '' TERM; echo cmd-""up; exec sleep 100`)
		p.WaitOutput(t, "cmd-up", boottest.Short)
		res, _ := stop(t, p, syscall.SIGTERM)
		boottest.WantExit(t, res, 137)
		boottest.WantOutput(t, res, "the CMD still runs after IGNITY_SERVICES_GRACETIME=300 ms: it gets SIGKILL once IGNITY_KILL_GRACETIME=300 ms more have passed; for a longer graceful stop raise IGNITY_SERVICES_GRACETIME")
	})
}

// findCmd is the host pid of a process named comm below pid, or 0.
func findCmd(pid int, comm string) int {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		n, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
		if strings.TrimSpace(string(b)) == comm && below(n, pid) {
			return n
		}
	}
	return 0
}

func below(n, pid int) bool {
	for i := 0; i < 64 && n > 1; i++ {
		n = parentOf(n)
		if n == pid {
			return true
		}
	}
	return false
}

func parentOf(pid int) int {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}
