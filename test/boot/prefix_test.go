package boot_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// Two services write interleaved partial lines, each waiting for the
// other between the halves of its line, and a last whole and partial
// line on SIGTERM: with IGNITY_LOG_PREFIX=1 every line reaches the
// container whole, prefixed, on the stream it was written to, and none of
// the last ones is lost. It is checked on a noexec /run/ignity too, and
// as uid 1000.
func TestLogPrefix(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    harness.Options
	}{
		{"root", harness.Options{}},
		{"noexec run dir as uid 1000", harness.Options{User: "1000:1000", Tmpfs: []string{"/run/ignity:noexec,mode=1777"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				mkdirMode(t, r, "/tmp/x", 0o1777)
				boottest.Script(t, r, "/etc/ignity/services/a/run", "#!/bin/sh\n"+
					"trap 'echo A-bye; printf A-tail; exit 0' TERM\n"+
					"printf 'A-part1 '; touch /tmp/x/a-half\n"+
					boottest.WaitFor("/tmp/x/b-half")+"\n"+
					"printf 'A-part2\\n'; echo A-err >&2\n"+
					"while :; do sleep 0.01; done\n")
				boottest.Script(t, r, "/etc/ignity/services/b/run", "#!/bin/sh\n"+
					boottest.WaitFor("/tmp/x/a-half")+"\n"+
					"printf 'B-part1 '; touch /tmp/x/b-half\n"+
					"sleep 0.05; printf 'B-part2\\n'\n"+
					"exec sleep 1000\n")
				o := tt.o
				o.Env = boottest.Env("IGNITY_LOG_PREFIX=1")
				o.Timeout = boottest.Short
				p := r.Start(t, o, "/init")
				p.WaitOutput(t, "b: B-part1 B-part2\n", boottest.Short)
				p.WaitOutput(t, "a: A-err\n", boottest.Short)
				if err := p.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				res := p.Wait()
				boottest.WantExit(t, res, 0)
				for _, l := range []string{"a: A-part1 A-part2\n", "b: B-part1 B-part2\n", "a: A-bye\n", "a: A-tail\n"} {
					if !strings.Contains(res.Stdout, l) {
						t.Errorf("stdout lacks %q\n--- stdout ---\n%s\n%s", l, res.Stdout, res)
					}
				}
				if !strings.Contains(res.Stderr, "a: A-err\n") || strings.Contains(res.Stdout, "A-err") {
					t.Errorf("A-err not on stderr alone\n--- stdout ---\n%s\n--- stderr ---\n%s", res.Stdout, res.Stderr)
				}
			})
		})
	}
}

// prefixerCmd kills the log prefixer with SIGKILL while the service w
// writes a numbered line every few ms (and its count to /tmp/x/count),
// then holds it down (s6-svc -d, then SIGKILL: it would otherwise drain
// until the services end) and brings it back. Each step prints what it
// saw: the count when the prefixer died and once it was back, health's
// status while it is down and once it is up again.
const prefixerCmd = `P=/run/ignity/services-state/ignity-log-prefixer
count() { c=; until [ -n "$c" ]; do c=$(cat /tmp/x/count 2>/dev/null); done; echo $c; }
grow() { want=$(( $(count) + $1 )); i=0; while [ "$(count)" -lt $want ]; do i=$((i+1)); [ $i -gt 1000 ] && { echo "count stuck at $(count)"; exit 97; }; sleep 0.01; done; }
i=0; until ignity health >/dev/null; do i=$((i+1)); [ $i -gt 500 ] && exit 98; sleep 0.01; done
grow 20
old=$(s6-svstat -o pid $P)
echo "KILLED pid=$old at=$(count)"
kill -9 $old
i=0; while :; do new=$(s6-svstat -o pid $P); [ "$new" -gt 0 ] && [ "$new" != "$old" ] && break; i=$((i+1)); [ $i -gt 500 ] && exit 96; sleep 0.01; done
echo "BACK pid=$new at=$(count)"
grow 100
echo "FLOWING at=$(count)"
s6-svc -d $P; s6-svc -k $P; s6-svwait -D -t 5000 $P || exit 95
echo "HELD-DOWN at=$(count)"
ignity health; echo "health-down=$?"
ignity status | grep ignity-log-prefixer
grow 100
echo "STILL-COUNTING at=$(count)"
s6-svc -u $P
i=0; until ignity health >/dev/null; do i=$((i+1)); [ $i -gt 500 ] && exit 94; sleep 0.01; done
echo "UP-AGAIN at=$(count)"
grow 100
echo "DONE at=$(count)"`

var stepLine = regexp.MustCompile(`(?m)^(KILLED|BACK|FLOWING|HELD-DOWN|STILL-COUNTING|UP-AGAIN|DONE) (?:pid=\d+ )?at=(\d+)$`)
var tickLine = regexp.MustCompile(`(?m)^(.*)tick (\d+)$`)

// TestLogPrefixerRestart: the prefixer is an s6 service. Killed with
// SIGKILL while a service writes without pause, it comes back, and the
// service's later lines come out prefixed; the service keeps writing all
// along (its count grows while the prefixer is held down, into its
// FIFO), and what it wrote meanwhile comes out once the prefixer is back.
// ignity health fails while the prefixer is down, naming it.
func TestLogPrefixerRestart(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    harness.Options
	}{
		{"root", harness.Options{}},
		{"noexec run dir as uid 1000", harness.Options{User: "1000:1000", Tmpfs: []string{"/run/ignity:noexec,mode=1777"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				mkdirMode(t, r, "/tmp/x", 0o1777)
				boottest.Script(t, r, "/etc/ignity/services/w/run", "#!/bin/sh\n"+
					"i=0; while :; do i=$((i+1)); echo \"tick $i\"; echo $i > /tmp/x/count.new; mv /tmp/x/count.new /tmp/x/count; sleep 0.005; done\n")
				o := tt.o
				o.Env = boottest.Env("IGNITY_LOG_PREFIX=1")
				o.Timeout = 60 * time.Second
				res := r.Boot(t, o, "/init", "sh", "-c", prefixerCmd)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "health-down=1",
					"ignity-log-prefixer: the log prefixer (IGNITY_LOG_PREFIX=1) is taken down")
				at := map[string]int{}
				for _, m := range stepLine.FindAllStringSubmatch(res.Stdout, -1) {
					at[m[1]], _ = strconv.Atoi(m[2])
				}
				if len(at) != 7 {
					t.Fatalf("steps seen: %v\n%s", at, res)
				}
				// Every tick line is prefixed whole (a crash may cut one,
				// never unprefix it), and the ticks written after the
				// kill, while held down, and after, come out.
				seen := map[int]bool{}
				for _, m := range tickLine.FindAllStringSubmatch(res.Stdout, -1) {
					if m[1] != "w: " {
						t.Errorf("line %q not prefixed", m[0])
					}
					n, _ := strconv.Atoi(m[2])
					seen[n] = true
				}
				for _, span := range [][2]string{{"BACK", "FLOWING"}, {"HELD-DOWN", "STILL-COUNTING"}, {"UP-AGAIN", "DONE"}} {
					for n := at[span[0]] + 1; n <= at[span[1]]; n++ {
						if !seen[n] {
							t.Errorf("tick %d (between %s and %s) did not come out", n, span[0], span[1])
							break
						}
					}
				}
			})
		})
	}
}

// countIgnity is a CMD that waits for the service, then prints how many
// processes the container has and how many run ignity's binary.
// countIgnity counts the container's processes, and those named ignity,
// once both services are up and the count of ignity processes is $want
// (stage2 may still be on its way to exec'ing the CMD's waiter, a
// service's run on its way to the user's): the same count either way
// after 5 s, so a wrong one fails the test.
const countIgnity = `i=0; while [ ! -e /tmp/up-a ] || [ ! -e /tmp/up-b ]; do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done
count() { n=0; g=0; for d in /proc/[0-9]*; do c=$(cat $d/comm 2>/dev/null) || continue; n=$((n+1)); [ "$c" = ignity ] && g=$((g+1)); done; }
i=0; count; while [ $g != $want ] && [ $i -lt 500 ]; do i=$((i+1)); sleep 0.01; count; done
echo "procs=$n ignity=$g"`

var countLine = regexp.MustCompile(`procs=(\d+) ignity=(\d+)`)

// With the knob off, no process is added: no Go process stays; with it
// on, exactly two, the prefixer for both services (the one ignity) and
// the s6-supervise that restarts it.
func TestLogPrefixProcesses(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/a/run", "#!/bin/sh\ntouch /tmp/up-a\nexec sleep 1000\n")
		boottest.Script(t, r, "/etc/ignity/services/b/run", "#!/bin/sh\ntouch /tmp/up-b\nexec sleep 1000\n")
		counts := map[string][2]int{}
		for _, knob := range []string{"0", "1"} {
			os.Remove(r.Path("/tmp/up-a"))
			os.Remove(r.Path("/tmp/up-b"))
			want := map[string]string{"0": "0", "1": "1"}[knob]
			res := r.Boot(t, harness.Options{Env: boottest.Env("IGNITY_LOG_PREFIX="+knob, "want="+want), Timeout: boottest.Short}, "/init", "sh", "-c", countIgnity)
			boottest.WantExit(t, res, 0)
			// The CMD's exit line quotes the script, "procs=$n" included.
			m := countLine.FindStringSubmatch(res.Output)
			if m == nil {
				t.Fatalf("IGNITY_LOG_PREFIX=%s: no count\n%s", knob, res)
			}
			n, _ := strconv.Atoi(m[1])
			g, _ := strconv.Atoi(m[2])
			counts[knob] = [2]int{n, g}
		}
		if counts["0"][1] != 0 || counts["1"][1] != 1 || counts["1"][0] != counts["0"][0]+2 {
			t.Errorf("processes (all, ignity) with IGNITY_LOG_PREFIX=0: %v, =1: %v; want no ignity process off, two more on (the prefixer, named ignity, and its s6-supervise)", counts["0"], counts["1"])
		}
	})
}

// IGNITY_CMD_STOP_SIGNAL is what the CMD gets when PID 1 gets SIGTERM:
// QUIT when set so, TERM by default.
func TestCmdStopSignal(t *testing.T) {
	for _, tt := range []struct{ knob, want string }{{"", "got-TERM"}, {"QUIT", "got-QUIT"}, {"SIGQUIT", "got-QUIT"}} {
		t.Run("knob="+tt.knob, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/cmd", "#!/bin/sh\n"+
					"trap 'echo got-QUIT; exit 0' QUIT\ntrap 'echo got-TERM; exit 0' TERM\n"+
					"echo cmd-started\nwhile :; do sleep 0.01; done\n")
				env := boottest.Env()
				if tt.knob != "" {
					env = boottest.Env("IGNITY_CMD_STOP_SIGNAL=" + tt.knob)
				}
				p := r.Start(t, harness.Options{Env: env, Timeout: boottest.Short}, "/init", "/cmd")
				p.WaitOutput(t, "cmd-started", boottest.Short)
				if err := p.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				res := p.Wait()
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, tt.want+"\n")
			})
		})
	}
}

// logutil-service, as a one-line log/run: DIR is created owned by nobody
// (32768:32768 on an image without one) and the service's lines land in
// DIR/current.
func TestLogutilService(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/web/run", "#!/bin/sh\necho hello-log\nexec sleep 1000\n")
		boottest.Script(t, r, "/etc/ignity/services/web/log/run", "#!/bin/sh\nexec logutil-service /var/log/web\n")
		uid, gid := 32768, 32768
		if b, err := os.ReadFile(r.Path("/etc/passwd")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Split(line, ":"); len(f) > 3 && f[0] == "nobody" {
					uid, _ = strconv.Atoi(f[2])
					gid, _ = strconv.Atoi(f[3])
				}
			}
		}
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until grep -q hello-log /var/log/web/current 2>/dev/null; do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done; echo logged`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "logged")
		if u, g, _ := boottest.Owner(t, r, "/var/log/web"); u != uid || g != gid {
			t.Errorf("/var/log/web owned by %d:%d, want %d:%d", u, g, uid, gid)
		}
		if u, _, _ := boottest.Owner(t, r, "/var/log/web/current"); u != uid {
			t.Errorf("/var/log/web/current owned by uid %d, want %d (s6-log runs as the logger)", u, uid)
		}
		// The default script's T: an ISO 8601 timestamp before the line.
		if cur := boottest.Read(t, r, "/var/log/web/current"); !strings.Contains(cur, "  hello-log") || !strings.HasPrefix(cur, "20") {
			t.Errorf("current = %q, want a timestamped hello-log", cur)
		}
	})
}

func mkdirMode(t *testing.T, r *harness.Root, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(r.Path(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.Path(path), mode); err != nil {
		t.Fatal(err)
	}
}
