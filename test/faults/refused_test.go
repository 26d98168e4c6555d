package faults_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// What ignity refuses at boot names the file or the variable, with exit
// 100 before anything starts, and `ignity check` reports the same line
// at build time. The README's Troubleshooting section quotes the lines
// of testdata/*.message: each must appear in both outputs.

// refused boots /init with env (PID 1 being first a shell that sets the
// stack limit, which decides exec's room, then execs /init with env
// alone: the same figures on every machine and base), then runs ignity
// check the same way, and wants both to print message.
func refused(t *testing.T, r *harness.Root, env []string, message string) {
	t.Helper()
	o := harness.Options{Timeout: boottest.Short}
	limited := func(argv ...string) []string {
		return append(append([]string{"/bin/sh", "-c", `ulimit -s 8192 && exec env -i "$@"`, "sh"}, boottest.Env(env...)...), argv...)
	}
	res := r.Boot(t, o, limited("/init", "true")...)
	boottest.WantExit(t, res, 100)
	boottest.WantOutput(t, res, "ignity: error: "+message, "the container does not start")
	boottest.WantNoOutput(t, res, "[supervisor/service]")
	chk := r.Boot(t, o, limited("/usr/bin/ignity", "check")...)
	boottest.WantExit(t, chk, 1)
	boottest.WantOutput(t, chk, message)
}

// golden reads the line the README quotes, testdata/NAME.message, without
// the "ignity: error: " the boot puts before it.
func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".message"))
	if err != nil {
		t.Fatal(err)
	}
	line, ok := strings.CutPrefix(strings.TrimRight(string(b), "\n"), "ignity: error: ")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("testdata/%s.message: want one line starting with \"ignity: error: \"", name)
	}
	return line
}

// TestRefusedEnvTooBig: env files whose values each fit exec's limit of
// one string, 3.6 MB together, where an 8 MiB stack gives exec 2 MiB.
// Before, the boot ended with exit 111 and "fork/exec ...: argument
// list too long", and ignity check passed.
func TestRefusedEnvTooBig(t *testing.T) {
	message := golden(t, "env-too-big")
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		var big strings.Builder
		for i := 1; i <= 20; i++ {
			fmt.Fprintf(&big, "BIG%02d=%s\n", i, strings.Repeat("x", 100000))
		}
		boottest.File(t, r, "/etc/ignity/envs/10-big", big.String())
		var more strings.Builder
		for i := 21; i <= 36; i++ {
			fmt.Fprintf(&more, "BIG%02d=%s\n", i, strings.Repeat("y", 99999))
		}
		boottest.File(t, r, "/etc/ignity/envs/20-more", more.String())
		refused(t, r, nil, message)
	})
}

// TestRefusedMultilineKnob: a multi-line S6_STAGE2_HOOK, named as set.
// Before, the boot ended with exit 111 naming IGNITY_STAGE2_HOOK, and
// ignity check passed.
func TestRefusedMultilineKnob(t *testing.T) {
	message := golden(t, "knob-newline")
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		refused(t, r, []string{"S6_STAGE2_HOOK=mkdir -p /run/app\nchown app /run/app"}, message)
	})
}

// TestRefusedServiceName: a service dir whose name s6-svscan skips (over
// 251 bytes) or ignity's state cannot hold (251), from ignity's own
// services and from services.d. Before, the boot went on and s6-svscan
// alone said "name too long".
func TestRefusedServiceName(t *testing.T) {
	message := golden(t, "service-name")
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		long := strings.Repeat("worker-", 37)[:254]
		boottest.Script(t, r, "/etc/ignity/services/"+long+"/run", "#!/bin/sh\nexec sleep 100\n")
		refused(t, r, nil, message)
		os.RemoveAll(r.Path("/etc/ignity/services/" + long))
		boottest.Script(t, r, "/etc/services.d/"+strings.Repeat("w", 251)+"/run", "#!/bin/sh\nexec sleep 100\n")
		refused(t, r, nil, "/etc/services.d/"+strings.Repeat("w", 251)+": a service name of 251 bytes is too long")
	})
}

// TestBackoffSaysNoFatal: while a crashing service waits out its restart
// backoff, only ignity's line is printed, never s6-svwait's "fatal:
// timed out", and the wait still happens (starts 2 s apart, against s6's
// own 1 s).
func TestBackoffSaysNoFatal(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/crash/run", "#!/bin/sh\ncut -d' ' -f1 /proc/uptime >> /tmp/starts\nexit 1\n")
		env := boottest.Env("IGNITY_RESTART_BACKOFF_AFTER=0", "IGNITY_RESTART_BACKOFF_MAX=2000")
		res := r.Boot(t, harness.Options{Timeout: 30 * time.Second, Env: env}, "/init", "sh", "-c",
			boottest.WaitFor("/tmp/starts")+`i=0; while [ "$(wc -l < /tmp/starts)" -lt 3 ]; do i=$((i+1)); [ $i -gt 2000 ] && exit 98; sleep 0.01; done; echo three-starts`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "three-starts", "[supervisor/service] crash: restart backoff: starting in")
		boottest.WantNoOutput(t, res, "fatal")
		var starts []float64
		for _, f := range strings.Fields(boottest.Read(t, r, "/tmp/starts")) {
			s, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			starts = append(starts, s)
		}
		if len(starts) < 3 || starts[2]-starts[1] < 1.6 {
			t.Errorf("starts at %v s: want the third 2 s after the second (the backoff), not s6's 1 s\n%s", starts, res)
		}
	})
}
