package boot_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// mtime is when a service touched path: the services' own timestamps.
func mtime(t *testing.T, r *harness.Root, path string) time.Time {
	t.Helper()
	st, err := os.Stat(r.Path(path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return st.ModTime()
}

// wantBefore fails unless first was touched no later than then. File
// times come from the kernel's coarse clock (a tick of a few ms), so two
// events in one tick carry the same time: equal counts as in order.
func wantBefore(t *testing.T, r *harness.Root, first, then string) {
	t.Helper()
	a, b := mtime(t, r, first), mtime(t, r, then)
	if b.Before(a) {
		t.Errorf("%s at %v, not before %s at %v", first, a.Format(time.StampMicro), then, b.Format(time.StampMicro))
	}
}

// readyLater is a run that becomes ready (notification-fd 3) after delay.
func readyLater(name, delay string) string {
	return "#!/bin/sh\ntouch /tmp/" + name + "-start\nsleep " + delay + "\ntouch /tmp/" + name + "-ready\necho >&3\nexec sleep 100\n"
}

const plainRun = "#!/bin/sh\ntouch /tmp/%s-start\nexec sleep 100\n"

// TestDepsChain: a -> b -> c, c ready only after a while: b, then a,
// start only once c is ready; the CMD once all have started; status
// names each service's dependencies.
func TestDepsChain(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		boottest.Script(t, r, s+"c/run", readyLater("c", "0.4"))
		boottest.File(t, r, s+"c/notification-fd", "3\n")
		boottest.Script(t, r, s+"b/run", fmt.Sprintf(plainRun, "b"))
		boottest.File(t, r, s+"b/dependencies", "# b needs c\nc\n")
		boottest.Script(t, r, s+"a/run", fmt.Sprintf(plainRun, "a"))
		boottest.File(t, r, s+"a/dependencies", "b\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`for n in a b c; do s6-svstat -o up /run/ignity/services-state/$n; done
			 [ -e /tmp/c-ready ] && echo "c was ""ready"
			 ignity status --json`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "c was ready", `"name":"a"`, `"dependencies":["b"]`, `"dependencies":["c"]`)
		// On stdout alone: the merged output may put a log line between them.
		if !strings.Contains(res.Stdout, "true\ntrue\ntrue\n") {
			t.Errorf("a, b and c not all up when the CMD ran:\n%s", res)
		}
		wantBefore(t, r, "/tmp/c-ready", "/tmp/b-start")
		wantBefore(t, r, "/tmp/c-ready", "/tmp/a-start")
	})
}

// TestDepsDiamond: top needs left and right, which both need bottom.
func TestDepsDiamond(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		for n, delay := range map[string]string{"bottom": "0.2", "left": "0.1", "right": "0.3"} {
			boottest.Script(t, r, s+n+"/run", readyLater(n, delay))
			boottest.File(t, r, s+n+"/notification-fd", "3\n")
		}
		boottest.File(t, r, s+"left/dependencies", "bottom\n")
		boottest.File(t, r, s+"right/dependencies", "bottom\n")
		boottest.Script(t, r, s+"top/run", fmt.Sprintf(plainRun, "top"))
		boottest.File(t, r, s+"top/dependencies", "left\nright\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/top-start")+"echo top-up")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "top-up")
		wantBefore(t, r, "/tmp/bottom-ready", "/tmp/left-start")
		wantBefore(t, r, "/tmp/bottom-ready", "/tmp/right-start")
		wantBefore(t, r, "/tmp/left-ready", "/tmp/top-start")
		wantBefore(t, r, "/tmp/right-ready", "/tmp/top-start")
	})
}

// TestDepsRejected: a cycle, named by its path, and a dependency on no
// service stop the boot (exit 100) before anything starts, and ignity
// check reports both.
func TestDepsRejected(t *testing.T) {
	for _, tt := range []struct {
		name  string
		deps  map[string]string
		wants []string
	}{
		{"cycle", map[string]string{"a": "b\n", "b": "c\n", "c": "a\n"}, []string{"/etc/ignity/services/a/dependencies: dependency cycle: a -> b -> c -> a"}},
		{"missing", map[string]string{"a": "db\n"}, []string{`/etc/ignity/services/a/dependencies:1: dependency "db": no such service`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				for n, d := range tt.deps {
					boottest.Script(t, r, "/etc/ignity/services/"+n+"/run", "#!/bin/sh\ntouch /tmp/started\nexec sleep 100\n")
					boottest.File(t, r, "/etc/ignity/services/"+n+"/dependencies", d)
				}
				chk := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/usr/bin/ignity", "check")
				boottest.WantExit(t, chk, 1)
				boottest.WantOutput(t, chk, tt.wants...)
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", "echo cmd-ran")
				boottest.WantExit(t, res, 100)
				boottest.WantOutput(t, res, tt.wants...)
				boottest.WantNoOutput(t, res, "cmd-ran\n")
				if boottest.Exists(r, "/tmp/started") {
					t.Error("a service started")
				}
			})
		})
	}
}

// TestDepsStopOrder: at shutdown a dependent stops before what it
// depends on (each records when SIGTERM reached it), and the whole stop
// stays inside its bound even when the top service ignores SIGTERM: at
// IGNITY_SERVICES_GRACETIME everything left is told at once.
func TestDepsStopOrder(t *testing.T) {
	stopper := func(n string) string {
		return "#!/bin/sh\ntrap 'touch /tmp/" + n + "-stop; exit 0' TERM\ntouch /tmp/" + n + "-start\nwhile :; do sleep 0.05; done\n"
	}
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		boottest.Script(t, r, s+"db/run", stopper("db"))
		boottest.Script(t, r, s+"app/run", stopper("app"))
		boottest.File(t, r, s+"app/dependencies", "db\n")
		boottest.Script(t, r, s+"proxy/run", stopper("proxy"))
		boottest.File(t, r, s+"proxy/dependencies", "app\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/proxy-start")+"echo all-up")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "all-up")
		wantBefore(t, r, "/tmp/proxy-stop", "/tmp/app-stop")
		wantBefore(t, r, "/tmp/app-stop", "/tmp/db-stop")
	})
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		boottest.Script(t, r, s+"db/run", stopper("db"))
		boottest.Script(t, r, s+"stubborn/run", "#!/bin/sh\ntrap '' TERM\ntouch /tmp/stubborn-start\nwhile :; do sleep 0.05; done\n")
		boottest.File(t, r, s+"stubborn/dependencies", "db\n")
		env := boottest.Env("IGNITY_SERVICES_GRACETIME=1000", "IGNITY_KILL_GRACETIME=1000")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env}, "/init", "sh", "-c", boottest.WaitFor("/tmp/stubborn-start")+"echo up; touch /tmp/cmd-end")
		boottest.WantExit(t, res, 0)
		stop := mtime(t, r, "/tmp/db-stop").Sub(mtime(t, r, "/tmp/cmd-end"))
		// db waits for the grace (its dependent ignores SIGTERM), then stops
		// at once: within the bound of 1000 + 1000 ms, well before it.
		if stop < 900*time.Millisecond || stop > 2000*time.Millisecond {
			t.Errorf("db stopped %v after the CMD ended, want about IGNITY_SERVICES_GRACETIME=1000 ms\n%s", stop, res)
		}
		if res.Elapsed > 4*time.Second {
			t.Errorf("the boot and stop took %v: past the shutdown bound\n%s", res.Elapsed, res)
		}
	})
}

// TestDeps100 starts 100 services in 10 levels, each of level n needing
// every one of level n-1 (ready through notification-fd): every level
// starts after the whole level before it is ready.
func TestDeps100(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		for l := 0; l < 10; l++ {
			var deps string
			for j := 0; l > 0 && j < 10; j++ {
				deps += fmt.Sprintf("s%d%d\n", l-1, j)
			}
			for i := 0; i < 10; i++ {
				n := fmt.Sprintf("s%d%d", l, i)
				boottest.Script(t, r, "/etc/ignity/services/"+n+"/run", "#!/bin/sh\ntouch /tmp/"+n+"\necho >&3\nexec sleep 100\n")
				boottest.File(t, r, "/etc/ignity/services/"+n+"/notification-fd", "3\n")
				if deps != "" {
					boottest.File(t, r, "/etc/ignity/services/"+n+"/dependencies", deps)
				}
			}
		}
		res := r.Boot(t, harness.Options{Timeout: 30 * time.Second}, "/init", "sh", "-c",
			`n=0; for d in /run/ignity/services-state/s*; do [ "$(s6-svstat -o ready $d)" = true ] && n=$((n+1)); done; echo "ready: $n"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "ready: 100\n")
		for l := 1; l < 10; l++ {
			var last time.Time
			for j := 0; j < 10; j++ {
				if m := mtime(t, r, fmt.Sprintf("/tmp/s%d%d", l-1, j)); m.After(last) {
					last = m
				}
			}
			for i := 0; i < 10; i++ {
				if m := mtime(t, r, fmt.Sprintf("/tmp/s%d%d", l, i)); m.Before(last) { // one clock tick may hold both
					t.Errorf("s%d%d started at %v, before level %d was all ready (%v)", l, i, m.Format(time.StampMicro), l-1, last.Format(time.StampMicro))
				}
			}
		}
	})
}

// TestDepsNoneCmdDoesNotWait: with no dependencies anywhere, the CMD
// starts at once, as before the dependency engine: it does not wait for
// a service that becomes ready late.
func TestDepsNoneCmdDoesNotWait(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/slow/run", readyLater("slow", "1"))
		boottest.File(t, r, "/etc/ignity/services/slow/notification-fd", "3\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", `[ -e /tmp/slow-ready ] || echo "cmd did not ""wait"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "cmd did not wait")
		if boottest.Exists(r, "/run/ignity/.plan") {
			t.Error("a start plan was recorded without any dependency")
		}
	})
}

// TestDepsTimeoutUp: a dependency not ready within its timeout-up fails
// the boot, naming it.
func TestDepsTimeoutUp(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		boottest.Script(t, r, s+"never/run", "#!/bin/sh\nexec sleep 100\n")
		boottest.File(t, r, s+"never/notification-fd", "3\n")
		boottest.File(t, r, s+"never/timeout-up", "300\n")
		boottest.Script(t, r, s+"app/run", "#!/bin/sh\ntouch /tmp/app-start\nexec sleep 100\n")
		boottest.File(t, r, s+"app/dependencies", "never\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", "echo cmd-ran")
		boottest.WantExit(t, res, 1)
		boottest.WantOutput(t, res, "dependency never (of app) not ready within its timeout-up (/etc/ignity/services/never/timeout-up: 300 ms)")
		boottest.WantNoOutput(t, res, "cmd-ran\n")
		if boottest.Exists(r, "/tmp/app-start") {
			t.Error("app started though its dependency never was ready")
		}
	})
}

// TestDepsChainReadOnly: the chain on a read-only root with tmpfs
// /run/ignity and /tmp. Each dependent says, when it starts, whether c
// was ready by then.
func TestDepsChainReadOnly(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		saw := func(n string) string {
			return "#!/bin/sh\n[ -e /tmp/c-ready ] && echo \"" + n + " started after c was ready\" >> /tmp/evidence\nexec sleep 100\n"
		}
		boottest.Script(t, r, s+"c/run", readyLater("c", "0.3"))
		boottest.File(t, r, s+"c/notification-fd", "3\n")
		boottest.Script(t, r, s+"b/run", saw("b"))
		boottest.File(t, r, s+"b/dependencies", "c\n")
		boottest.Script(t, r, s+"a/run", saw("a"))
		boottest.File(t, r, s+"a/dependencies", "b\n")
		opt := harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity", "/tmp:mode=1777"}}
		res := r.Boot(t, opt, "/init", "sh", "-c", `i=0; until [ "$(wc -l < /tmp/evidence 2>/dev/null)" = 2 ]; do i=$((i+1)); [ $i -gt 500 ] && break; sleep 0.01; done; sort /tmp/evidence`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "a started after c was ready\nb started after c was ready\n")
	})
}

// TestDepsWithLogPrefix: a held dependent's output is prefixed too
// (IGNITY_LOG_PREFIX=1): its FIFOs are made before it moves in.
func TestDepsWithLogPrefix(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		boottest.Script(t, r, s+"db/run", "#!/bin/sh\necho db-says-hi\necho >&3\nexec sleep 100\n")
		boottest.File(t, r, s+"db/notification-fd", "3\n")
		boottest.Script(t, r, s+"app/run", "#!/bin/sh\necho app-says-hi\ntouch /tmp/app-start\nexec sleep 100\n")
		boottest.File(t, r, s+"app/dependencies", "db\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_LOG_PREFIX=1")}, "/init", "sh", "-c", boottest.WaitFor("/tmp/app-start")+"echo cmd-done")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "db: db-says-hi", "app: app-says-hi", "cmd-done")
	})
}

// TestDepsFailures: a dependency failed for good (its crash-loop limit),
// or a oneshot whose up exits non-zero, fails the boot naming it; its
// dependents never start.
func TestDepsFailures(t *testing.T) {
	rc := "/etc/s6-overlay/s6-rc.d/"
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, r *harness.Root)
		want  string
	}{
		{"permanently failed", func(t *testing.T, r *harness.Root) {
			s := "/etc/ignity/services/"
			boottest.Script(t, r, s+"crashy/run", "#!/bin/sh\nexit 3\n")
			boottest.File(t, r, s+"crashy/notification-fd", "3\n")
			boottest.File(t, r, s+"crashy/max-deaths", "1 60\n")
			boottest.Script(t, r, s+"app/run", "#!/bin/sh\ntouch /tmp/app-start\nexec sleep 100\n")
			boottest.File(t, r, s+"app/dependencies", "crashy\n")
		}, "dependency crashy (of app) failed permanently before it was ready"},
		{"oneshot exits non-zero", func(t *testing.T, r *harness.Root) {
			boottest.File(t, r, rc+"init-bad/type", "oneshot\n")
			boottest.File(t, r, rc+"init-bad/up", "foreground { echo trying } exit 4\n")
			boottest.File(t, r, rc+"app/type", "longrun\n")
			boottest.Script(t, r, rc+"app/run", "#!/bin/sh\ntouch /tmp/app-start\nexec sleep 100\n")
			boottest.File(t, r, rc+"app/dependencies.d/init-bad", "")
			boottest.File(t, r, "/etc/s6-overlay/user-bundles.d/user/contents.d/app", "")
		}, "oneshot init-bad: /etc/s6-overlay/s6-rc.d/init-bad/up exited 4"},
		{"oneshot past its timeout-up", func(t *testing.T, r *harness.Root) {
			boottest.File(t, r, rc+"init-slow/type", "oneshot\n")
			boottest.File(t, r, rc+"init-slow/up", "sleep 100\n")
			boottest.File(t, r, rc+"init-slow/timeout-up", "200\n")
			boottest.File(t, r, rc+"user/type", "bundle\n")
			boottest.File(t, r, rc+"user/contents.d/init-slow", "")
		}, "oneshot init-slow: /etc/s6-overlay/s6-rc.d/init-slow/up killed after its timeout-up"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				tt.setup(t, r)
				// The stop policy, explicitly: s6-overlay's layout (s6-rc.d)
				// makes continuing the default (TestDepsFailureContinues).
				res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=2")}, "/init", "sh", "-c", "echo cmd-ran")
				boottest.WantExit(t, res, 1)
				boottest.WantOutput(t, res, tt.want)
				boottest.WantNoOutput(t, res, "cmd-ran\n")
				if boottest.Exists(r, "/tmp/app-start") {
					t.Error("app started though its dependency failed")
				}
			})
		})
	}
}

// TestDepsStopDuringStart: docker stop while a dependent waits (without
// a bound) for its dependency stops the boot at once.
func TestDepsStopDuringStart(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		// never says what status reports meanwhile: app waits for it.
		boottest.Script(t, r, s+"never/run", "#!/bin/sh\nignity status --json > /tmp/status.new; ignity status > /tmp/status.txt; mv /tmp/status.new /tmp/status.json\ntouch /tmp/never-start\nexec sleep 100\n")
		boottest.File(t, r, s+"never/notification-fd", "3\n")
		boottest.Script(t, r, s+"app/run", "#!/bin/sh\ntouch /tmp/app-start\nexec sleep 100\n")
		boottest.File(t, r, s+"app/dependencies", "never\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, TermAfter: 700 * time.Millisecond, Env: boottest.Env("IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=0")}, "/init", "sh", "-c", "echo cmd-ran")
		if res.TimedOut || res.Elapsed > 3*time.Second {
			t.Fatalf("docker stop during the ordered start took %v (timed out: %v)\n%s", res.Elapsed, res.TimedOut, res)
		}
		boottest.WantNoOutput(t, res, "cmd-ran\n")
		boottest.WantOutput(t, res, "[supervisor/finalize] Sending all processes the kill signal and exiting")
		if !boottest.Exists(r, "/tmp/never-start") || boottest.Exists(r, "/tmp/app-start") {
			t.Fatal("want never started, app held")
		}
		st := boottest.Read(t, r, "/tmp/status.json")
		for _, want := range []string{`"name":"app","state":"waiting"`, `"dependencies":["never"],"waiting_for":["never"]`} {
			if !strings.Contains(st, want) {
				t.Errorf("status --json lacks %s:\n%s", want, st)
			}
		}
		if txt := boottest.Read(t, r, "/tmp/status.txt"); !strings.Contains(txt, "WAITS FOR") || !strings.Contains(txt, " never\n") {
			t.Errorf("status does not say app waits for never:\n%s", txt)
		}
	})
}

// TestS6rcPipeline: a producer-for/consumer-for pair: the consumer reads
// what the producer writes, as the producer's logger.
func TestS6rcPipeline(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"app/type", "longrun\n")
		boottest.Script(t, r, rc+"app/run", "#!/bin/sh\necho through-the-pipe\nexec sleep 100\n")
		boottest.File(t, r, rc+"app/producer-for", "app-log\n")
		boottest.File(t, r, rc+"app-log/type", "longrun\n")
		boottest.Script(t, r, rc+"app-log/run", "#!/bin/sh\nwhile read -r l; do echo \"logged: $l\" >> /tmp/app-log; done\n")
		boottest.File(t, r, rc+"app-log/consumer-for", "app\n")
		boottest.File(t, r, rc+"app-log/pipeline-name", "app-pipeline\n")
		boottest.File(t, r, "/etc/s6-overlay/user-bundles.d/user/contents.d/app-pipeline", "")
		// app-pipeline: the bundle s6-rc makes of the pipeline, by its name.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/app-log")+"cat /tmp/app-log")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "logged: through-the-pipe")
	})
}

// TestDepsFailureContinues: with IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=1 a
// failed dependency is a warning: its dependent and the CMD start.
func TestDepsFailureContinues(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"init-bad/type", "oneshot\n")
		boottest.File(t, r, rc+"init-bad/up", "exit 4\n")
		boottest.File(t, r, rc+"app/type", "longrun\n")
		boottest.Script(t, r, rc+"app/run", "#!/bin/sh\ntouch /tmp/app-start\nexec sleep 100\n")
		boottest.File(t, r, rc+"app/dependencies.d/init-bad", "")
		boottest.File(t, r, "/etc/s6-overlay/user-bundles.d/user/contents.d/app", "")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=1")}, "/init", "sh", "-c", boottest.WaitFor("/tmp/app-start")+"echo cmd-ran")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "oneshot init-bad: /etc/s6-overlay/s6-rc.d/init-bad/up exited 4: continuing, as IGNITY_BEHAVIOUR_IF_STAGE2_FAILS asks", "cmd-ran")
	})
}
