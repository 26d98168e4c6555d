package boot_test

// Production services (issue 12, points 1 to 3): essential services, the
// cleanup of what a dead run leaves in its process group, the restart
// backoff and the crash-loop limit.

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

const finalizeRan = "#!/bin/sh\necho finalize-ran\n"

// userFinish is a service's own finish that shows s6's four arguments.
const userFinish = "#!/bin/sh\necho \"user-finish code=$1 sig=$2 name=$3 pgid-set=$([ -n \"$4\" ] && echo yes)\"\nexit 9\n"

func TestEssentialServiceExitStopsContainer(t *testing.T) {
	for _, tt := range []struct {
		name, run string
		want      int
		line      string
	}{
		{"exit 3", "#!/bin/sh\nexit 3\n", 3, "essential service app exited 3"},
		{"SIGKILL", "#!/bin/sh\nkill -9 $$\n", 137, "essential service app exited 137"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/ignity/services/app/run", tt.run)
				boottest.Script(t, r, "/etc/ignity/services/app/finish", userFinish)
				boottest.File(t, r, "/etc/ignity/services/app/essential", "")
				boottest.Script(t, r, "/etc/ignity/finalize/10-mark", finalizeRan)
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init")
				boottest.WantExit(t, res, tt.want)
				boottest.WantOutput(t, res, tt.line, "finalize-ran", "user-finish code=", "name=app pgid-set=yes")
				if strings.Index(res.Output, "user-finish") > strings.Index(res.Output, "finalize-ran") {
					t.Errorf("the service's own finish ran after the finalize scripts\n%s", res)
				}
				if runs := strings.Count(res.Output, "user-finish"); runs != 1 {
					t.Errorf("the essential service ran %d times, want 1 (no restart)\n%s", runs, res)
				}
			})
		})
	}
}

// TestEssentialServiceDownKeepsRunning: s6-svc -d of an essential service
// is not a death that stops the container; s6-svc -r is.
func TestEssentialServiceDownKeepsRunning(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/app/run", "#!/bin/sh\ntouch /tmp/app-up\ntrap 'exit 7' TERM\nsleep 100 & wait\n")
		boottest.File(t, r, "/etc/ignity/services/app/essential", "")
		d := "/run/ignity/services-state/app"
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			boottest.WaitFor("/tmp/app-up")+`s6-svc -d `+d+` && s6-svwait -D -t 5000 `+d+` && echo "app is down"
			rm /tmp/app-up; s6-svc -u `+d+`; `+boottest.WaitFor("/tmp/app-up")+`echo "app is up again"; s6-svc -r `+d+`; exec sleep 100`)
		boottest.WantExit(t, res, 7)
		boottest.WantOutput(t, res, "app is down", "app is up again", "essential service app exited 7")
	})
}

// procs counts the processes of the host whose command line is argv
// exactly: the namespaces' processes are the host's too.
func procs(argv ...string) int {
	want := strings.Join(argv, "\x00") + "\x00"
	n := 0
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && string(b) == want {
			n++
		}
	}
	return n
}

// TestLeftoversCleanedOnRestart: a run that forks workers into its group
// and dies. At any time at most one generation of workers lives; with
// keep-leftovers, they pile up.
func TestLeftoversCleanedOnRestart(t *testing.T) {
	for _, keep := range []bool{false, true} {
		name := "cleaned"
		if keep {
			name = "keep-leftovers"
		}
		t.Run(name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				// A worker argument unique to this root: parallel tests share the host's /proc.
				worker := "1000." + strconv.Itoa(int(time.Now().UnixNano()%1e9))
				boottest.Script(t, r, "/etc/ignity/services/leaky/run", "#!/bin/sh\nsleep "+worker+" &\nsleep "+worker+" &\necho gen >> /tmp/gens\nsleep 0.2\nexit 1\n")
				if keep {
					boottest.File(t, r, "/etc/ignity/services/leaky/keep-leftovers", "")
				}
				p := r.Start(t, harness.Options{Timeout: 30 * time.Second, Env: boottest.Env("IGNITY_RESTART_BACKOFF_MAX=0")}, "/init")
				most := 0
				harness.PollUntil(t, 15*time.Second, "four generations of the leaky service", func() bool {
					most = max(most, procs("sleep", worker))
					b, _ := os.ReadFile(r.Path("/tmp/gens"))
					return strings.Count(string(b), "gen") >= 4
				})
				most = max(most, procs("sleep", worker))
				res, _ := stopAndWait(t, p)
				boottest.WantExit(t, res, 0)
				if keep {
					if most < 6 {
						t.Errorf("with keep-leftovers, at most %d workers were alive at once, want the 6+ of three generations\n%s", most, res)
					}
					boottest.WantNoOutput(t, res, "leftover")
					return
				}
				if most > 2 {
					t.Errorf("%d workers alive at once, want at most one generation (2)\n%s", most, res)
				}
				boottest.WantOutput(t, res, "[supervisor/service] leaky: stopped 2 leftover process(es) of its process group")
			})
		})
	}
}

func stopAndWait(t *testing.T, p *harness.Proc) (*harness.Result, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to PID 1: %v", err)
	}
	res := p.Wait()
	return res, time.Since(start)
}

const stampRun = "#!/bin/sh\nread up idle < /proc/uptime\necho $up >> /tmp/starts\nexit 1\n"

// delayRun is a service that stamps its start (/proc/uptime, s) and the
// wait the finish decided at its last death (the delay of its restart
// record, ms; 0 before any), then lives for life.
func delayRun(life string) string {
	return "#!/bin/sh\nread up idle < /proc/uptime\n" +
		"d=$(sed -n 's/^delay=//p' /run/ignity/.state/restarts/crash 2>/dev/null)\n" +
		"echo \"$up ${d:-0}\" >> /tmp/starts\n" + life + "exit 1\n"
}

// TestRestartBackoff: a service that dies at once. With
// IGNITY_RESTART_BACKOFF_AFTER=0 and a 4 s cap, the finish decides waits
// of 2 s, 4 s, 4 s; with the backoff off (IGNITY_RESTART_BACKOFF_MAX=0),
// none: s6's 1 s pause. A run that lasts IGNITY_RESTART_RESET resets it:
// none either, 0.5 s of run, then s6's 1 s pause after its death. The
// schedule itself is TestSchedule's (pkg/stages); here the decided waits
// must be the schedule's, in order, and the gaps between starts, measured
// by the service itself, at least them: a wait counts from the death,
// after the previous start. A loaded machine only makes a gap longer, so
// the upper bound is loose (a 2 s gap measured 3.65 s on a busy 2-core
// machine): it catches a wait that never ends, not a slow one.
func TestRestartBackoff(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
		life string
		// the waits decided, ms, and the least gap between starts, s
		delays []int
		least  []float64
	}{
		{"doubling", []string{"IGNITY_RESTART_BACKOFF_AFTER=0", "IGNITY_RESTART_BACKOFF_MAX=4000"}, "", []int{2000, 4000, 4000}, []float64{2, 4, 4}},
		{"off", []string{"IGNITY_RESTART_BACKOFF_AFTER=0", "IGNITY_RESTART_BACKOFF_MAX=0"}, "", []int{0, 0, 0}, []float64{1, 1, 1}},
		{"reset by long runs", []string{"IGNITY_RESTART_BACKOFF_AFTER=0", "IGNITY_RESTART_RESET=300"}, "sleep 0.5\n", []int{0, 0, 0}, []float64{1.5, 1.5, 1.5}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/ignity/services/crash/run", delayRun(tt.life))
				p := r.Start(t, harness.Options{Timeout: 60 * time.Second, Env: boottest.Env(tt.env...)}, "/init")
				harness.PollUntil(t, 45*time.Second, "4 starts", func() bool {
					b, _ := os.ReadFile(r.Path("/tmp/starts"))
					return strings.Count(string(b), "\n") >= len(tt.delays)+1
				})
				res, _ := stopAndWait(t, p)
				boottest.WantExit(t, res, 0)
				s, delays := startsAndDelays(t, r, "/tmp/starts")
				if got := delays[1 : len(tt.delays)+1]; !slices.Equal(got, tt.delays) {
					t.Errorf("waits decided at each death: %v ms, want %v (starts %v)\n%s", got, tt.delays, s, res)
				}
				for i, least := range tt.least {
					gap := s[i+1] - s[i]
					if gap < least-0.15 || gap > least+max(2, least) {
						t.Errorf("gap %d between starts: %.2f s, want at least %.1f s (and under %.1f s) (starts %v)\n%s", i+1, gap, least, least+max(2, least), s, res)
					}
				}
			})
		})
	}
}

// startsAndDelays reads delayRun's stamps from path: the start times and
// the wait decided before each start.
func startsAndDelays(t *testing.T, r *harness.Root, path string) ([]float64, []int) {
	t.Helper()
	var starts []float64
	var delays []int
	for _, line := range strings.Split(strings.TrimSpace(boottest.Read(t, r, path)), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("%s: line %q: want \"uptime delay\"", path, line)
		}
		up, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		d, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		starts, delays = append(starts, up), append(delays, d)
	}
	return starts, delays
}

// inBackoff is a watcher service: once the crash service's restart waits
// (its s6-svwait runs), it says so in /tmp/in-backoff, then runs then.
func inBackoff(then string) string {
	return `#!/bin/sh
until for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f 2>/dev/null; echo; done | grep -q '^/usr/bin/s6-svwait -t'; do sleep 0.02; done
touch /tmp/in-backoff
` + then + `
exec sleep 100
`
}

// seedBackoff is an init script that records four short runs of crash,
// so that its next death waits 30 s (IGNITY_RESTART_BACKOFF_AFTER=0: 2^5
// s, capped at IGNITY_RESTART_BACKOFF_MAX).
const seedBackoff = "#!/bin/sh\nmkdir -p /run/ignity/.state/restarts\nprintf 'deaths=4\\nshort=4\\n' > /run/ignity/.state/restarts/crash\n"

// TestStopDuringBackoff: docker stop (SIGTERM to PID 1) and s6-svscanctl
// -t while a service waits 30 s to restart end as fast as a stop without
// one.
func TestStopDuringBackoff(t *testing.T) {
	env := boottest.Env("IGNITY_RESTART_BACKOFF_AFTER=0")
	for _, tt := range []struct{ name, then string }{
		{"docker stop", ""},
		{"s6-svscanctl -t", "s6-svscanctl -t /run/ignity/services-state"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/ignity/services/crash/run", stampRun)
				boottest.Script(t, r, "/etc/ignity/services/watch/run", inBackoff(tt.then))
				boottest.Script(t, r, "/etc/ignity/init/10-seed", seedBackoff)
				p := r.Start(t, harness.Options{Timeout: 40 * time.Second, Env: env}, "/init")
				harness.PollUntil(t, 10*time.Second, "the crash service in its backoff", func() bool {
					return boottest.Exists(r, "/tmp/in-backoff")
				})
				start := time.Now()
				var res *harness.Result
				if tt.then == "" {
					res, _ = stopAndWait(t, p)
				} else {
					res = p.Wait()
				}
				took := time.Since(start)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "crash: restart backoff: starting in 2")
				t.Logf("stop during a 30 s backoff took %v", took)
				if took > 1500*time.Millisecond {
					t.Errorf("the stop took %v during a 30 s backoff, want the usual milliseconds\n%s", took, res)
				}
			})
		})
	}
}

// TestCrashLoopMarkedFailed: past its crash-loop limit a service is
// marked failed (s6's permanent failure, and runstate's .failed file),
// not restarted, and the log names it; the per-service max-deaths file
// overrides the knobs.
func TestCrashLoopMarkedFailed(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		env        []string
		deaths     int
	}{
		{"knobs", "", []string{"IGNITY_SERVICE_MAX_DEATHS=3", "IGNITY_RESTART_BACKOFF_MAX=0"}, 3},
		{"max-deaths file", "2 60\n", []string{"IGNITY_SERVICE_MAX_DEATHS=10", "IGNITY_RESTART_BACKOFF_MAX=0"}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/ignity/services/crash/run", stampRun)
				if tt.file != "" {
					boottest.File(t, r, "/etc/ignity/services/crash/max-deaths", tt.file)
				}
				d := "/run/ignity/services-state/crash"
				res := r.Boot(t, harness.Options{Timeout: 20 * time.Second, Env: boottest.Env(tt.env...)}, "/init", "sh", "-c",
					`i=0; while [ ! -e /run/ignity/.state/failed/crash ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 99; sleep 0.01; done
					s6-svwait -D -t 5000 `+d+`; echo "failed: $(cat /run/ignity/.state/failed/crash)"; s6-svstat `+d+`; sleep 1.5; echo "starts: $(wc -l < /tmp/starts)"`)
				boottest.WantExit(t, res, 0)
				n := strconv.Itoa(tt.deaths)
				boottest.WantOutput(t, res, "service crash died "+n+" times within 60 s", "marked failed", "failed: died "+n+" times", "starts: "+n+"\n", "down (exitcode 1)")
			})
		})
	}
}
