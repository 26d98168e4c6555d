package boot_test

import (
	"fmt"
	"github.com/ignity/ignity/internal/boottest"
	"strings"
	"testing"
	"time"

	"github.com/ignity/ignity/internal/harness"
)

func TestBootLogLinesInOrder(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 0)
		order := []string{
			"[supervisor/env] Loading environment files",
			"[supervisor/env] Environment files loaded",
			"[supervisor/perm] Applying ownership & permissions fixes",
			"[supervisor/perm] Ownership & permissions fixes applied",
			"[supervisor/init] Executing environment init scripts",
			"[supervisor/init] Environment init scripts executed",
			"[supervisor/service] Starting services",
			"[supervisor/service] Services started",
			"[supervisor/cmd] true exited 0",
			"[supervisor/finalize] Executing environment finalize scripts...",
			"[supervisor/finalize] Sending all processes the termination signals",
			"[supervisor/finalize] Sending all processes the kill signal and exiting",
		}
		at := 0
		for _, line := range order {
			i := strings.Index(res.Output[at:], line)
			if i < 0 {
				t.Fatalf("line %q missing or out of order\n%s", line, res)
			}
			at += i + len(line)
		}
	})
}

func TestHelpersOnPath(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`for c in with-env load-envfile fix-perms preboot with-retries execlineb s6-svc s6-svscanctl s6-svwait s6-svstat s6-setuidgid s6-log; do command -v $c || exit 1; done; [ -x /bin/execlineb ]
			 # The CMD keeps the image's PATH; scripts (and with-env) get execline's directory too.
			 command -v eltest && exit 2; with-env sh -c 'command -v eltest' || exit 3`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "/usr/bin/with-env", "/usr/lib/execline/bin/eltest", "/usr/bin/s6-log")
	})
}

func TestCmdExitStatus(t *testing.T) {
	for _, tt := range []struct {
		name string
		argv []string
		want int
	}{
		{"true", []string{"true"}, 0},
		{"exit 42", []string{"sh", "-c", "exit 42"}, 42},
		{"not found", []string{"no-such-program"}, 127},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, append([]string{"/init"}, tt.argv...)...)
				boottest.WantExit(t, res, tt.want)
				boottest.WantOutput(t, res, fmt.Sprintf("exited %d", tt.want))
			})
		})
	}
}

func TestCmdArgumentsVerbatim(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "/bin/sh", "-c", `for a; do printf '[%s]\n' "$a"; done`, "_",
			"two words", `"double"`, "it's", "", " lead", "$HOME", "a\\b")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "[two words]\n", "[\"double\"]\n", "[it's]\n", "[]\n", "[ lead]\n", "[$HOME]\n", "[a\\b]\n")
	})
}

func TestStdinReachesCmd(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Stdin: strings.NewReader("line one\nline two\n")}, "/init", "sh", "-c", "cat; echo done-reading")
		boottest.WantExit(t, res, 0)
		if !strings.Contains(res.Stdout, "line one\nline two\ndone-reading") {
			t.Errorf("stdout lacks the input then done-reading\n%s", res)
		}
	})
}

func TestNoCmdRunsUntilStopped(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		p := r.Start(t, harness.Options{Timeout: boottest.Short}, "/init")
		p.WaitOutput(t, "[supervisor/service] Services started", boottest.Short)
		p.Signal(15)
		boottest.WantExit(t, p.Wait(), 0)
	})
}

func TestCtrlCReachesInteractiveCmd(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		p := r.Start(t, harness.Options{Timeout: boottest.Short, TTY: true}, "/init", "sh", "-c",
			`trap 'echo trapped-int; exit 7' INT; echo ready; while :; do sleep 0.05; done`)
		p.WaitOutput(t, "ready", boottest.Short)
		if err := p.WriteTTY([]byte{3}); err != nil {
			t.Fatal(err)
		}
		res := p.Wait()
		boottest.WantExit(t, res, 7)
		boottest.WantOutput(t, res, "trapped-int")
	})
}

func TestCmdOwnsTheTerminal(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		// /proc/PID/stat fields 5 and 8: the process group and the
		// terminal's foreground group. The CMD leads its own group (not
		// PID 1's), and that group has the terminal.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, TTY: true}, "/init", "sh", "-c",
			`set -- $(cat /proc/$$/stat); echo "pid=$1 pgrp=$5 tpgid=$8"; [ "$5" = "$1" ] && [ "$8" = "$1" ] && echo cmd-owns-tty`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "cmd-owns-tty")
	})
}

func TestVerbosityZeroSilencesLogLines(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_VERBOSITY=0")}, "/init", "echo", "only-this")
		boottest.WantExit(t, res, 0)
		boottest.WantNoOutput(t, res, "[supervisor/")
		boottest.WantOutput(t, res, "only-this")
	})
}

func TestWithRetries(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", `
			with-retries -n 2 -t 1000 sh -c 'echo attempt >> /tmp/fail; exit 3'; echo "fail=$?"
			with-retries -n 5 sh -c 'echo attempt >> /tmp/ok; [ $(wc -l < /tmp/ok) -ge 2 ]'; echo "ok=$?"
			with-retries -n 1 -t 100 sh -c 'echo attempt >> /tmp/slow; exec sleep 5'; echo "slow=$?"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "fail=3", "ok=0", "slow=137")
		if n := strings.Count(boottest.Read(t, r, "/tmp/fail"), "attempt"); n != 3 {
			t.Errorf("with-retries -n 2 ran %d times, want 3", n)
		}
		if n := strings.Count(boottest.Read(t, r, "/tmp/ok"), "attempt"); n != 2 {
			t.Errorf("with-retries stopped after %d attempts, want 2 (first success)", n)
		}
		if res.Elapsed > 4*time.Second {
			t.Errorf("with-retries -t 100 took %v: the bound did not kill sleep 5", res.Elapsed)
		}
	})
}

func TestInitScriptsRunInNameOrder(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		for _, n := range []string{"20-b", "05-a", "10-c"} {
			boottest.Script(t, r, "/etc/ignity/init/"+n, "#!/bin/sh\necho "+n+" >> /tmp/order\n")
		}
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 0)
		if got := boottest.Read(t, r, "/tmp/order"); got != "05-a\n10-c\n20-b\n" {
			t.Errorf("init order = %q", got)
		}
	})
}

func TestFailedInitScriptStopsBoot(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/init/10-fail", "#!/bin/sh\nexit 3\n")
		boottest.Script(t, r, "/etc/ignity/init/20-never", "#!/bin/sh\ntouch /tmp/init-20-ran\n")
		boottest.Script(t, r, "/etc/ignity/services/svc/run", "#!/bin/sh\ntouch /tmp/service-ran\nexec sleep 100\n")
		boottest.Script(t, r, "/etc/ignity/finalize/10-f", "#!/bin/sh\ntouch /tmp/finalize-ran\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "touch", "/tmp/cmd-ran")
		boottest.WantExit(t, res, 3)
		boottest.WantOutput(t, res, "/etc/ignity/init/10-fail exited 3")
		for path, want := range map[string]bool{"/tmp/init-20-ran": false, "/tmp/service-ran": false, "/tmp/cmd-ran": false, "/tmp/finalize-ran": true} {
			if got := boottest.Exists(r, path); got != want {
				t.Errorf("%s exists = %v, want %v", path, got, want)
			}
		}
	})
}
