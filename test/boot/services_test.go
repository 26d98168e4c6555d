package boot_test

import (
	"github.com/ignity/ignity/internal/boottest"
	"os"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

func TestServicesStartAndRestart(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/counter/run", "#!/bin/sh\necho run >> /tmp/runs\nexit 0\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; while [ "$(wc -l < /tmp/runs 2>/dev/null)" -lt 2 ] 2>/dev/null; do i=$((i+1)); [ $i -gt 800 ] && exit 99; sleep 0.01; done; echo restarted`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "restarted")
	})
}

func TestServiceDownAtBuildThenStarted(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/lazy/run", "#!/bin/sh\ntouch /tmp/lazy-ran\nexec sleep 100\n")
		boottest.File(t, r, "/etc/ignity/services/lazy/down", "")
		d := "/run/ignity/services-state/lazy"
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until s6-svstat `+d+` >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 500 ] && exit 98; sleep 0.01; done
			 s6-svstat -o up `+d+`; [ -e /tmp/lazy-ran ] && echo "ran-too""-early"
			 rm `+d+`/down && s6-svc -u `+d+` && `+boottest.WaitFor("/tmp/lazy-ran")+`
			 i=0; until [ "$(s6-svstat -o up `+d+`)" = true ]; do i=$((i+1)); [ $i -gt 500 ] && exit 97; sleep 0.01; done; echo now-up`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "false\n", "now-up")
		boottest.WantNoOutput(t, res, "ran-too-early")
		if !boottest.Exists(r, "/etc/ignity/services/lazy/down") {
			t.Error("the image's down file was removed: /etc/ignity must never change")
		}
	})
}

func TestServiceDownFromInitScript(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/lazy/run", "#!/bin/sh\ntouch /tmp/lazy-ran\nexec sleep 100\n")
		boottest.Script(t, r, "/etc/ignity/services/eager/run", "#!/bin/sh\ntouch /tmp/eager-ran\nexec sleep 100\n")
		boottest.Script(t, r, "/etc/ignity/init/10-down", "#!/bin/sh\ntouch /run/ignity/services/lazy/down\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			boottest.WaitFor("/tmp/eager-ran")+`
			i=0; until s6-svstat /run/ignity/services-state/lazy >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 500 ] && exit 98; sleep 0.01; done
			s6-svstat -o up /run/ignity/services-state/lazy; if [ -e /tmp/lazy-ran ]; then echo "LAZY""-STARTED"; fi`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "false\n")
		boottest.WantNoOutput(t, res, "LAZY-STARTED")
	})
}

// TestServicesPathAfterBoot: once the services start, the copies init
// scripts saw under /run/ignity/services are the live dirs of the scandir,
// and both paths name them, whether the directory could become one symlink
// or (an init script left a dot file in it) each service needs its own.
func TestServicesPathAfterBoot(t *testing.T) {
	for _, tt := range []struct {
		name, init, link, want string
	}{
		{"one symlink", "#!/bin/sh\ntrue\n", "/run/ignity/services", "services-state"},
		{"a symlink per service", "#!/bin/sh\ntouch /run/ignity/services/.keep\n", "/run/ignity/services/web", "../services-state/web"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/ignity/init/10-a", tt.init)
				boottest.Script(t, r, "/etc/ignity/services/web/run", "#!/bin/sh\ntouch /tmp/web-ran\nexec sleep 100\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
					boottest.WaitFor("/tmp/web-ran")+`
					echo "link: $(readlink `+tt.link+`)"
					[ -d /run/ignity/services-state/web ] && [ ! -L /run/ignity/services-state/web ] && echo "live dir is a dir"
					s6-svc -d /run/ignity/services/web && s6-svwait -D -t 5000 /run/ignity/services-state/web && echo "down through the services path"`)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "link: "+tt.want+"\n", "live dir is a dir", "down through the services path")
			})
		})
	}
}

func TestServiceWithLogger(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/talker/run", "#!/bin/sh\necho hello-from-talker\nexec sleep 100\n")
		boottest.Script(t, r, "/etc/ignity/services/talker/log/run", "#!/bin/sh\nexec s6-log /var/log/talker\n")
		if err := os.MkdirAll(r.Path("/var/log"), 0o755); err != nil {
			t.Fatal(err)
		}
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until grep -q hello-from-talker /var/log/talker/current 2>/dev/null; do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done; echo logged`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "logged")
		boottest.WantNoOutput(t, res, "hello-from-talker\n[") // it went to the logger, not the console
	})
}

func TestSymlinkedServiceDir(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services-available/web/run", "#!/bin/sh\ntouch /tmp/web-ran\nexec sleep 100\n")
		if err := os.MkdirAll(r.Path("/etc/ignity/services"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../services-available/web", r.Path("/etc/ignity/services/web")); err != nil {
			t.Fatal(err)
		}
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/web-ran")+"echo web-up")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "web-up")
	})
}

func TestShFinishScriptWithEltest(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		// The README's finish example, in sh: eltest is on every PATH.
		boottest.Script(t, r, "/etc/ignity/services/app/run", "#!/bin/sh\nexit 3\n")
		boottest.Script(t, r, "/etc/ignity/services/app/finish", "#!/bin/sh\nif eltest \"$1\" -ne 0 && eltest \"$1\" -ne 256; then echo \"app failed with $1\"; s6-svscanctl -t /run/ignity/services-state; fi\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "app failed with 3", "[supervisor/finalize] Sending all processes the kill signal and exiting")
	})
}

func TestExeclineFinishScript(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/app/run", "#!/bin/sh\nexit 0\n")
		boottest.Script(t, r, "/etc/ignity/services/app/finish", "#!/bin/execlineb -S0\ns6-svscanctl -t /run/ignity/services-state\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "[supervisor/finalize] Sending all processes the kill signal and exiting")
	})
}

func TestWaitForServices(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		// Ready only after a while: the CMD must not start before.
		boottest.Script(t, r, "/etc/ignity/services/slow/run", "#!/bin/sh\nsleep 0.3\ntouch /tmp/slow-ready\necho >&3\nexec sleep 100\n")
		boottest.File(t, r, "/etc/ignity/services/slow/notification-fd", "3\n")
		boottest.Script(t, r, "/etc/ignity/services/plain/run", "#!/bin/sh\nexec sleep 100\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_CMD_WAIT_FOR_SERVICES=1")}, "/init", "sh", "-c",
			`[ -e /tmp/slow-ready ] && echo was-ready; s6-svstat -o ready /run/ignity/services-state/slow`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "was-ready", "true")
	})
}

func TestWaitForServicesTimeout(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/never/run", "#!/bin/sh\nexec sleep 100\n")
		boottest.File(t, r, "/etc/ignity/services/never/notification-fd", "3\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_CMD_WAIT_FOR_SERVICES=1", "IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=300")},
			"/init", "touch", "/tmp/cmd-ran")
		if res.ExitCode == 0 || res.TimedOut {
			t.Fatalf("exit %d, want a failure\n%s", res.ExitCode, res)
		}
		boottest.WantOutput(t, res, "never")
		if boottest.Exists(r, "/tmp/cmd-ran") {
			t.Error("the CMD ran although a service never became ready")
		}
	})
}

func TestBadServiceAndScriptsStopBoot(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, r *harness.Root)
		want  string
	}{
		{"service without run", func(t *testing.T, r *harness.Root) {
			boottest.File(t, r, "/etc/ignity/services/broken/finish", "#!/bin/sh\n")
		}, "/etc/ignity/services/broken"},
		{"init script not executable", func(t *testing.T, r *harness.Root) {
			boottest.File(t, r, "/etc/ignity/init/10-plain", "#!/bin/sh\necho hi\n")
		}, "10-plain: not executable"},
		{"init script with a bad shebang", func(t *testing.T, r *harness.Root) {
			boottest.Script(t, r, "/etc/ignity/init/10-bash", "#!/no/such/bash\necho hi\n")
		}, "/no/such/bash"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				tt.setup(t, r)
				boottest.Script(t, r, "/etc/ignity/init/00-first", "#!/bin/sh\ntouch /tmp/init-ran\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "touch", "/tmp/cmd-ran")
				boottest.WantExit(t, res, 100)
				boottest.WantOutput(t, res, tt.want)
				if boottest.Exists(r, "/tmp/cmd-ran") {
					t.Error("the CMD ran after a configuration error")
				}
				// The boot-time checks refuse the configuration before
				// anything starts: not even the first init script runs.
				if boottest.Exists(r, "/tmp/init-ran") {
					t.Error("an init script ran despite a configuration error")
				}
			})
		})
	}
}

func TestEtcIgnityNeverModified(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/ignity/envs/10-a", "A=1\n")
		boottest.File(t, r, "/etc/ignity/perms/10-a", "/etc/ignity 1000:1000 0600 0700\n")
		boottest.Script(t, r, "/etc/ignity/init/10-a", "#!/bin/sh\ntouch /run/ignity/services/s/down\n")
		boottest.Script(t, r, "/etc/ignity/services/s/run", "#!/bin/sh\nexec sleep 100\n")
		boottest.Script(t, r, "/etc/ignity/finalize/10-a", "#!/bin/sh\ntrue\n")
		before := tree(t, r.Path("/etc/ignity"))
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("IGNITY_SKIP_PERMS=1")}, "/init", "true")
		boottest.WantExit(t, res, 0)
		if after := tree(t, r.Path("/etc/ignity")); after != before {
			t.Errorf("/etc/ignity changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// tree describes every entry below dir: path, mode, owner, content.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := walk(dir, func(path string, fi os.FileInfo) {
		content := ""
		if fi.Mode().IsRegular() {
			c, _ := os.ReadFile(path)
			content = string(c)
		}
		b.WriteString(strings.TrimPrefix(path, dir) + " " + fi.Mode().String() + " " + content + "\n")
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func walk(dir string, f func(string, os.FileInfo)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := dir + "/" + e.Name()
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		f(p, fi)
		if fi.IsDir() {
			if err := walk(p, f); err != nil {
				return err
			}
		}
	}
	return nil
}
