package boot_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// s6rcTree writes an s6-overlay v3 tree shaped like the ones popular base
// images ship: init oneshots chained on base (a script path, an echo, a
// comment alone), the first writing a variable into the envdir; a longrun
// in the user bundle that reads it; a services.d service (a symlink into
// services-available); a longrun in user2; and one in neither bundle.
// Each longrun appends its name to /tmp/order once ready.
func s6rcTree(t *testing.T, r *harness.Root) {
	rc := "/etc/s6-overlay/s6-rc.d/"
	boottest.Script(t, r, "/etc/s6-overlay/scripts/init-config", "#!/bin/sh\necho init-config >> /tmp/order\nprintf hello > /run/s6/container_environment/GREETING\n")
	boottest.File(t, r, rc+"init-config/type", "oneshot\n")
	boottest.File(t, r, rc+"init-config/up", "/etc/s6-overlay/scripts/init-config\n")
	boottest.File(t, r, rc+"init-config/dependencies.d/base", "")
	boottest.File(t, r, rc+"init-echo/type", "oneshot\n")
	boottest.File(t, r, rc+"init-echo/up", "echo init-echo-ran\n")
	boottest.File(t, r, rc+"init-echo/down", "foreground { sh -c \"echo init-echo-down >> /tmp/downs\" }\n")
	boottest.File(t, r, rc+"init-echo/dependencies.d/init-config", "")
	boottest.File(t, r, rc+"init-noop/type", "oneshot\n")
	boottest.File(t, r, rc+"init-noop/up", "# nothing to do here\n")
	boottest.File(t, r, rc+"init-noop/dependencies.d/init-echo", "")
	ready := func(name string) string {
		return "#!/bin/sh\nwith-env sh -c 'echo \"" + name + " $GREETING\" >> /tmp/order'\necho >&3\nexec sleep 100\n"
	}
	// app's run as images write it: #!/usr/bin/with-contenv bash (sh on
	// busybox, which has no bash); late's through /command/.
	shell := "sh"
	if _, err := os.Stat(r.Path("/bin/bash")); err == nil {
		shell = "bash"
	}
	contenv := func(path, name string) string {
		return "#!" + path + " " + shell + "\necho \"" + name + " $GREETING\" >> /tmp/order\necho >&3\nexec sleep 100\n"
	}
	boottest.File(t, r, rc+"app/type", "longrun\n")
	boottest.Script(t, r, rc+"app/run", contenv("/usr/bin/with-contenv", "app"))
	boottest.File(t, r, rc+"app/notification-fd", "3\n")
	boottest.File(t, r, rc+"app/dependencies.d/init-noop", "")
	boottest.File(t, r, rc+"app/dependencies.d/base", "")
	boottest.File(t, r, rc+"late/type", "longrun\n")
	boottest.Script(t, r, rc+"late/run", contenv("/command/with-contenv", "late"))
	// S6_STAGE2_HOOK runs before the definitions are read: it adds
	// hooked to the user bundle, as images' hooks do.
	boottest.File(t, r, rc+"hooked/type", "longrun\n")
	boottest.Script(t, r, rc+"hooked/run", "#!/bin/sh\ntouch /tmp/hooked-ran\nexec sleep 100\n")
	boottest.File(t, r, rc+"late/notification-fd", "3\n")
	boottest.File(t, r, rc+"outside/type", "longrun\n")
	boottest.Script(t, r, rc+"outside/run", "#!/bin/sh\ntouch /tmp/outside-ran\nexec sleep 100\n")
	boottest.File(t, r, rc+"user/type", "bundle\n")
	boottest.File(t, r, rc+"user/contents.d/app", "")
	boottest.File(t, r, rc+"user2/type", "bundle\n")
	boottest.File(t, r, "/etc/s6-overlay/user-bundles.d/user2/contents.d/late", "")
	boottest.Script(t, r, "/etc/services-available/legacy/run", ready("legacy"))
	boottest.File(t, r, "/etc/services-available/legacy/notification-fd", "3\n")
	if err := os.MkdirAll(r.Path("/etc/services.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/services-available/legacy", r.Path("/etc/services.d/legacy")); err != nil {
		t.Fatal(err)
	}
}

// TestS6rcTree boots that tree: the oneshots in order, the variable seen
// by the next oneshot and the longruns, user, then services.d, then
// user2, then the CMD; the definition outside both bundles never starts;
// the oneshot's down line runs at shutdown.
func TestS6rcTree(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  harness.Options
	}{
		{"writable root", harness.Options{Timeout: boottest.Short}},
		{"read-only root", harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity", "/tmp:mode=1777"}}},
		{"read-only root, noexec /run/ignity", harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity:mode=1777,noexec", "/tmp:mode=1777"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				s6rcTree(t, r)
				opt := tt.opt
				opt.Env = boottest.Env("S6_STAGE2_HOOK=touch /etc/s6-overlay/s6-rc.d/user/contents.d/hooked || echo hook-failed")
				if opt.ReadOnly {
					// The hook cannot edit a read-only root: there the image
					// carries the member already.
					boottest.File(t, r, "/etc/s6-overlay/s6-rc.d/user/contents.d/hooked", "")
				}
				res := r.Boot(t, opt, "/init", "sh", "-c",
					`echo "order: $(tr '\n' ',' < /tmp/order)"
					 s6-svstat /run/ignity/services-state/outside >/dev/null 2>&1 && echo "outside ""supervised"
					 [ -e /tmp/outside-ran ] && echo "outside ""ran"
					 [ -e /tmp/hooked-ran ] && echo "hooked ""ran"
					 echo "cmd sees $GREETING"`)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "order: init-config,app hello,legacy hello,late hello,\n", "init-echo-ran\n", "cmd sees hello", "hooked ran")
				boottest.WantNoOutput(t, res, "outside supervised")
				boottest.WantNoOutput(t, res, "outside ran")
				if !tt.opt.ReadOnly {
					if got := boottest.Read(t, r, "/tmp/downs"); !strings.Contains(got, "init-echo-down") {
						t.Errorf("down line did not run at shutdown: /tmp/downs = %q", got)
					}
				}
			})
		})
	}
}

// TestS6rcCommandLine boots an s6-overlay image shaped like linuxserver's
// (user/ and user2/ with contents.d/ only, no type file) whose user2
// oneshot drives s6-rc as Home Assistant add-ons do: -a list, -d change
// and -u change of a longrun of user, -da list, and a change that follows
// dependencies (up: dependencies first; down: dependents first). The CMD
// then shows what it saw.
func TestS6rcCommandLine(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"svc-x/type", "longrun\n")
		boottest.Script(t, r, rc+"svc-x/run", "#!/bin/sh\necho svc-x-started >> /tmp/x.log\nexec sleep 1000\n")
		boottest.File(t, r, rc+"init-a/type", "oneshot\n")
		boottest.File(t, r, rc+"init-a/up", "echo init-a-ran\n")
		// base-shot and on-top are in no bundle: only s6-rc starts them.
		boottest.File(t, r, rc+"base-shot/type", "oneshot\n")
		boottest.File(t, r, rc+"base-shot/up", "sh -c \"echo base-shot-up >> /tmp/order\"\n")
		boottest.File(t, r, rc+"base-shot/down", "sh -c \"echo base-shot-down >> /tmp/order\"\n")
		boottest.File(t, r, rc+"on-top/type", "oneshot\n")
		boottest.File(t, r, rc+"on-top/up", "sh -c \"echo on-top-up >> /tmp/order\"\n")
		boottest.File(t, r, rc+"on-top/down", "sh -c \"echo on-top-down >> /tmp/order\"\n")
		boottest.File(t, r, rc+"on-top/dependencies.d/base-shot", "")
		boottest.File(t, r, rc+"toggle/type", "oneshot\n")
		boottest.File(t, r, rc+"toggle/up", "/etc/s6-overlay/scripts/toggle\n")
		boottest.Script(t, r, "/etc/s6-overlay/scripts/toggle", `#!/bin/sh
echo "active: $(s6-rc -a list | tr '\n' ' ')"
s6-rc -d change svc-x; echo "down change exit $?"
echo "after down: $(s6-svstat -o up,wantedup /run/service/svc-x)"
echo "inactive: $(s6-rc -da list | tr '\n' ' ')"
s6-rc -v2 -u change svc-x; echo "up change exit $?"
echo "after up: $(s6-svstat -o up,wantedup /run/service/svc-x)"
s6-rc -u change on-top; echo "deps up exit $?"
s6-rc -d change base-shot; echo "deps down exit $?"
s6-rc -u change no-such-thing; echo "unknown exit $?"
s6-rc -p change svc-x; echo "prune exit $?"
`)
		boottest.File(t, r, rc+"user/contents.d/svc-x", "")
		boottest.File(t, r, rc+"user/contents.d/init-a", "")
		boottest.File(t, r, rc+"user2/contents.d/toggle", "")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until [ "$(grep -c svc-x-started /tmp/x.log)" -ge 2 ] || [ $i -gt 500 ]; do i=$((i+1)); sleep 0.01; done
echo "order: $(tr '\n' ' ' < /tmp/order)"; echo "x log: $(tr '\n' ' ' < /tmp/x.log)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res,
			"active: init-a svc-x \n",
			"down change exit 0\n", "after down: false false\n",
			"inactive: base-shot on-top svc-x toggle \n",
			"s6-rc: info: service svc-x: starting\n", "s6-rc: info: service svc-x successfully started\n",
			"up change exit 0\n", "after up: true true\n",
			"deps up exit 0\n", "deps down exit 0\n",
			"s6-rc: fatal: unknown service name no-such-thing\n", "unknown exit 3\n",
			"option -p is not supported", "prune exit 100\n",
			"order: base-shot-up on-top-up on-top-down base-shot-down \n",
			"x log: svc-x-started svc-x-started \n",
		)
	})
}

// userBundle writes s6-overlay's user bundle as its tarball ships it,
// with the image's members.
func userBundle(t *testing.T, r *harness.Root, members ...string) {
	t.Helper()
	boottest.File(t, r, "/etc/s6-overlay/s6-rc.d/user/type", "bundle\n")
	for _, m := range members {
		boottest.File(t, r, "/etc/s6-overlay/s6-rc.d/user/contents.d/"+m, "")
	}
}

// TestS6rcCmdWaitsForUser: as s6-overlay v3 does (s6-rc -u change top,
// then the CMD), the CMD runs once every longrun of the user bundle is
// ready, with no dependency and no oneshot anywhere, and without
// IGNITY_CMD_WAIT_FOR_SERVICES.
func TestS6rcCmdWaitsForUser(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"web/type", "longrun\n")
		boottest.Script(t, r, rc+"web/run", readyLater("web", "0.5"))
		boottest.File(t, r, rc+"web/notification-fd", "3\n")
		userBundle(t, r, "web")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", `[ -e /tmp/web-ready ] && echo "web was ""ready"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "web was ready")
	})
}

// TestS6rcDependenciesFile: s6-rc's older files, read where the .d
// directories are absent: nginx's dependencies file names php-fpm (as
// serversideup's images write it), a bundle's contents file its members.
// nginx starts only once php-fpm is ready.
func TestS6rcDependenciesFile(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"php-fpm/type", "longrun\n")
		boottest.Script(t, r, rc+"php-fpm/run", readyLater("php-fpm", "0.5"))
		boottest.File(t, r, rc+"php-fpm/notification-fd", "3\n")
		boottest.File(t, r, rc+"nginx/type", "longrun\n")
		boottest.Script(t, r, rc+"nginx/run", fmt.Sprintf(plainRun, "nginx"))
		boottest.File(t, r, rc+"nginx/dependencies", "base\nphp-fpm\n")
		boottest.File(t, r, rc+"web/type", "bundle\n")
		boottest.File(t, r, rc+"web/contents", "nginx\n")
		userBundle(t, r, "web")
		// Up, for s6, is nginx's run spawned: its first line may come a
		// moment later, so the CMD waits for that, and asks s6.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			boottest.WaitFor("/tmp/nginx-start")+`echo "php-fpm ready: $(s6-svstat -o ready /run/service/php-fpm)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "php-fpm ready: true")
		wantBefore(t, r, "/tmp/php-fpm-ready", "/tmp/nginx-start")
	})
}

// TestS6rcHeldInScandir: a longrun that waits for its dependencies is in
// the scandir, down, from the first moment, as in s6-overlay: a oneshot's
// s6-svc on it works (here with the stop policy, so that a failing
// s6-svc would stop the boot), and it starts once its dependencies have.
func TestS6rcHeldInScandir(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"init-ctl/type", "oneshot\n")
		boottest.File(t, r, rc+"init-ctl/up", "s6-svc -d /run/service/svc-x\n")
		boottest.File(t, r, rc+"svc-x/type", "longrun\n")
		boottest.Script(t, r, rc+"svc-x/run", fmt.Sprintf(plainRun, "svc-x"))
		boottest.File(t, r, rc+"svc-x/dependencies.d/init-ctl", "")
		userBundle(t, r, "svc-x")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("S6_BEHAVIOUR_IF_STAGE2_FAILS=2")}, "/init", "sh", "-c",
			boottest.WaitFor("/tmp/svc-x-start")+`echo "svc-x up: $(s6-svstat -o up /run/service/svc-x)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "svc-x up: true")
	})
}

// TestS6rcFunnel: two producers for one consumer (frigate's
// consumer-for naming two services): one logger, fed by both, as s6-rc
// joins them.
func TestS6rcFunnel(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		for _, p := range []string{"a", "b"} {
			boottest.File(t, r, rc+p+"/type", "longrun\n")
			boottest.Script(t, r, rc+p+"/run", "#!/bin/sh\necho from-"+p+"\nexec sleep 100\n")
			boottest.File(t, r, rc+p+"/producer-for", "log\n")
		}
		boottest.File(t, r, rc+"log/type", "longrun\n")
		boottest.Script(t, r, rc+"log/run", "#!/bin/sh\necho $$ >> /tmp/log-pids\nwhile read -r l; do echo \"logged: $l\" >> /tmp/log-out; done\n")
		boottest.File(t, r, rc+"log/consumer-for", "a\nb\n")
		boottest.File(t, r, rc+"log/pipeline-name", "pipe\n")
		userBundle(t, r, "pipe")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until grep -q from-a /tmp/log-out 2>/dev/null && grep -q from-b /tmp/log-out; do i=$((i+1)); [ $i -gt 500 ] && break; sleep 0.01; done
			 cat /tmp/log-out; echo "loggers: $(wc -l < /tmp/log-pids)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "logged: from-a", "logged: from-b", "loggers: 1\n")
	})
}

// TestS6rcAdminSources: Home Assistant's addon-base adds its oneshots to
// s6-overlay's own source tree, /package/admin/s6-overlay-VERSION/etc/
// s6-rc/sources, in s6-overlay's base bundle: they run, before the user
// bundle's members.
func TestS6rcAdminSources(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		src := "/package/admin/s6-overlay-3.1.6.2/etc/s6-rc/sources/"
		boottest.File(t, r, src+"base-addon-banner/type", "oneshot\n")
		boottest.File(t, r, src+"base-addon-banner/up", "sh -c \"echo banner >> /tmp/order\"\n")
		boottest.File(t, r, src+"base/contents.d/base-addon-banner", "")
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"app/type", "longrun\n")
		boottest.Script(t, r, rc+"app/run", "#!/bin/sh\necho app >> /tmp/order\nexec sleep 100\n")
		boottest.File(t, r, rc+"app/dependencies.d/base", "")
		userBundle(t, r, "app")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/order")+`sleep 0.1; echo "order: $(tr '\n' ',' < /tmp/order)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "order: banner,app,")
	})
}

// TestS6rcUnusedRefusesNothing: hotio's base ships a finish at 0644 for
// a service in no bundle: s6-overlay never runs it, and the boot goes
// on; ignity check warns about it.
func TestS6rcUnusedRefusesNothing(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"vpn/type", "longrun\n")
		boottest.Script(t, r, rc+"vpn/run", "#!/bin/sh\nexec sleep 100\n")
		boottest.File(t, r, rc+"vpn/finish", "#!/bin/sh\nexit 0\n")
		boottest.File(t, r, rc+"app/type", "longrun\n")
		boottest.Script(t, r, rc+"app/run", "#!/bin/sh\nexec sleep 100\n")
		userBundle(t, r, "app")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", `echo cmd-ran; ignity check; echo "check exited $?"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "cmd-ran", "warning: /etc/s6-overlay/s6-rc.d/vpn/finish: not executable", "check exited 0")
	})
}

// TestS6rcServicePwd: linuxserver's with-contenv applies UMASK only when
// the shell's pwd prints one of s6-overlay's service dir paths: an
// s6-rc.d and a services.d service both see /run/s6/services/NAME, and
// s6-svc still works on /run/ignity/services-state/NAME.
func TestS6rcServicePwd(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		run := func(name string) string {
			return "#!/bin/sh\necho \"" + name + " pwd: $(pwd)\" > /tmp/pwd-" + name + "\nexec sleep 100\n"
		}
		rc := "/etc/s6-overlay/s6-rc.d/"
		boottest.File(t, r, rc+"svc-app/type", "longrun\n")
		boottest.Script(t, r, rc+"svc-app/run", run("svc-app"))
		userBundle(t, r, "svc-app")
		boottest.Script(t, r, "/etc/services.d/legacy/run", run("legacy"))
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			boottest.WaitFor("/tmp/pwd-svc-app")+boottest.WaitFor("/tmp/pwd-legacy")+
				`cat /tmp/pwd-svc-app /tmp/pwd-legacy; s6-svc -r /run/ignity/services-state/svc-app && echo "s6-svc ok"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "svc-app pwd: /run/s6/services/svc-app\n", "legacy pwd: /run/s6/services/legacy\n", "s6-svc ok")
	})
}
