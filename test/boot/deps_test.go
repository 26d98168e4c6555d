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

func wantBefore(t *testing.T, r *harness.Root, first, then string) {
	t.Helper()
	a, b := mtime(t, r, first), mtime(t, r, then)
	if !a.Before(b) {
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
		boottest.WantOutput(t, res, "true\ntrue\ntrue\n", "c was ready", `"name":"a"`, `"dependencies":["b"]`, `"dependencies":["c"]`)
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
