package boot_test

import (
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
