package boot_test

// s6-overlay v2 images (fix-attrs.d, cont-init.d, cont-finish.d) and the
// paths, helpers and S6_* variables their scripts use.

import (
	"os"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// v2Image writes an s6-overlay v2 image's scripts: cont-init.d scripts in
// name order through with-contenv (one by /usr/bin/, one by /command/),
// the first setting a variable in /run/s6/container_environment for the
// later ones and the CMD, a service reading it through with-contenv, and
// a cont-finish.d script. Each says what it saw on the output. The
// service is a services.d one, as in v2 images.
func v2Image(t *testing.T, r *harness.Root) {
	boottest.File(t, r, "/etc/ignity/envs/10-app", "FROM_FILE=file\n")
	boottest.Script(t, r, "/etc/ignity/init/10-own", "#!/bin/sh\necho \"step ignity-init\"\n")
	boottest.Script(t, r, "/etc/cont-init.d/10-set", "#!/usr/bin/with-contenv sh\n"+
		"echo \"step cont-init-10 FROM_FILE=$FROM_FILE\"\n"+
		"printf 'from cont-init' > /run/s6/container_environment/FROM_INIT\n")
	boottest.Script(t, r, "/etc/cont-init.d/20-see", "#!/command/with-contenv sh\necho \"step cont-init-20 FROM_INIT=$FROM_INIT\"\n")
	boottest.Script(t, r, "/etc/services.d/app/run", "#!/command/with-contenv sh\n"+
		"echo \"step service FROM_INIT=$FROM_INIT\"\n: >/tmp/app-said\nexec sleep 1000\n")
	boottest.Script(t, r, "/etc/ignity/finalize/10-own", "#!/bin/sh\necho \"step ignity-finalize\"\n")
	boottest.Script(t, r, "/etc/cont-finish.d/10-bye", "#!/usr/bin/with-contenv sh\necho \"step cont-finish FROM_INIT=$FROM_INIT\"\n")
}

// v2Cmd waits for the service to have said its line, then shows what the
// CMD sees: the variable, printcontenv, the live scandir under its
// s6-overlay names, and the envdir's privacy through its s6-overlay name.
const v2Cmd = `i=0; until [ -e /tmp/app-said ] && [ "$(s6-svstat -o up /run/service/app 2>/dev/null)" = true ]; do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done
echo "step cmd FROM_INIT=$FROM_INIT printcontenv=$(printcontenv FROM_INIT)"
echo "service up: $(s6-svstat -o up /run/service/app) $(s6-svstat -o up /var/run/s6/services/app)"
echo "envdir: $(stat -L -c '%a' /run/s6/container_environment)"`

// wantInOrder fails unless lines appear in out in that order. out must be
// one stream: stdout and stderr interleave in no reliable order.
func wantInOrder(t *testing.T, res *harness.Result, out string, lines ...string) {
	t.Helper()
	at := 0
	for _, line := range lines {
		i := strings.Index(out[at:], line)
		if i < 0 {
			t.Fatalf("line %q missing or out of order\n%s", line, res)
		}
		at += i + len(line)
	}
}

func TestOverlayV2Image(t *testing.T) {
	for _, ro := range []struct {
		name string
		opts harness.Options
	}{
		{"writable root", harness.Options{Timeout: boottest.Short}},
		{"read-only root", harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity:mode=1777,noexec", "/tmp:mode=1777"}}},
		// An arbitrary uid in group 0, as OpenShift runs images: /run is
		// root's, so the symlinks are the installer's.
		{"uid 12345 in group 0", harness.Options{Timeout: boottest.Short, User: "12345:0"}},
	} {
		t.Run(ro.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				v2Image(t, r)
				res := r.Boot(t, ro.opts, "/init", "sh", "-c", v2Cmd)
				boottest.WantExit(t, res, 0)
				wantInOrder(t, res, res.Stdout,
					"step ignity-init",
					"step cont-init-10 FROM_FILE=file",
					"step cont-init-20 FROM_INIT=from cont-init",
					"step cmd FROM_INIT=from cont-init printcontenv=from cont-init",
					"step ignity-finalize",
					"step cont-finish FROM_INIT=from cont-init",
				)
				boottest.WantOutput(t, res, "step service FROM_INIT=from cont-init", "service up: true true", "envdir: 700")
			})
		})
	}
}

// fix-attrs.d lines apply after ignity's perms, leaving dot files alone
// unless S6_FIX_ATTRS_HIDDEN=1.
func TestOverlayFixAttrs(t *testing.T) {
	for _, tt := range []struct {
		name      string
		env       []string
		hiddenOwn int
	}{
		{"dot files left alone", nil, 0},
		{"S6_FIX_ATTRS_HIDDEN=1", []string{"S6_FIX_ATTRS_HIDDEN=1"}, 1234},
	} {
		t.Run(tt.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/data/file", "x")
				boottest.File(t, r, "/data/.hidden", "x")
				boottest.File(t, r, "/etc/fix-attrs.d/01-data", "/data true 1234:1235 0600 0710\n/missing false root 0600 0700\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env(tt.env...)}, "/init", "true")
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "[supervisor/perm] Applying /etc/fix-attrs.d ownership & permissions fixes", "/etc/fix-attrs.d/01-data:2: /missing")
				if uid, gid, mode := boottest.Owner(t, r, "/data/file"); uid != 1234 || gid != 1235 || mode != 0o600 {
					t.Errorf("/data/file: %d:%d %o, want 1234:1235 0600", uid, gid, mode)
				}
				if uid, _, mode := boottest.Owner(t, r, "/data"); uid != 1234 || mode != 0o710 {
					t.Errorf("/data: %d %o, want 1234 0710", uid, mode)
				}
				if uid, _, _ := boottest.Owner(t, r, "/data/.hidden"); uid != tt.hiddenOwn {
					t.Errorf("/data/.hidden owned by %d, want %d", uid, tt.hiddenOwn)
				}
			})
		})
	}
}

// A service's finish writes the exit code file and calls halt: the
// container exits with that code, though the CMD then dies of SIGTERM.
func TestOverlayFinishExitcodeHalt(t *testing.T) {
	for _, ro := range []struct {
		name string
		opts harness.Options
	}{
		{"writable root", harness.Options{Timeout: boottest.Short}},
		{"read-only root", harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity:mode=1777,noexec", "/tmp:mode=1777"}}},
		{"uid 12345 in group 0", harness.Options{Timeout: boottest.Short, User: "12345:0"}},
	} {
		t.Run(ro.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.Script(t, r, "/etc/services.d/app/run", "#!/bin/sh\n"+boottest.WaitFor("/tmp/cmd-runs")+"exit 3\n")
				boottest.Script(t, r, "/etc/services.d/app/finish", "#!/bin/sh\n"+
					"echo \"finish: exitcode file holds [$(cat /run/s6-linux-init-container-results/exitcode)]\"\n"+
					"echo 42 > /run/s6-linux-init-container-results/exitcode\nexec /run/s6/basedir/bin/halt\n")
				boottest.Script(t, r, "/etc/cont-finish.d/10-bye", "#!/bin/sh\necho cont-finish ran\n")
				res := r.Boot(t, ro.opts, "/init", "sh", "-c", "touch /tmp/cmd-runs; exec sleep 1000")
				boottest.WantExit(t, res, 42)
				boottest.WantOutput(t, res, "finish: exitcode file holds []", "cont-finish ran")
			})
		})
	}
}

// S6_STAGE2_HOOK runs first in stage2; failing, under the stop policy, it
// stops the container with its status before any script runs.
func TestOverlayStage2Hook(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/cont-init.d/10-init", "#!/bin/sh\necho cont-init ran\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env(`S6_STAGE2_HOOK=echo hook ran; printf '#!/bin/sh\necho script from the hook ran\n' > /etc/cont-init.d/20-hook; chmod +x /etc/cont-init.d/20-hook`)}, "/init", "true")
		boottest.WantExit(t, res, 0)
		wantInOrder(t, res, res.Stdout, "hook ran", "cont-init ran", "script from the hook ran")

		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("S6_STAGE2_HOOK=exit 5", "S6_BEHAVIOUR_IF_STAGE2_FAILS=2")}, "/init", "true")
		boottest.WantExit(t, res, 5)
		boottest.WantOutput(t, res, "IGNITY_STAGE2_HOOK (S6_STAGE2_HOOK) exited 5: the container stops")
		boottest.WantNoOutput(t, res, "cont-init ran")
		boottest.WantNoOutput(t, res, "script from the hook ran")
	})
}

// The S6_* aliases reach the boot; the layout changes exactly two
// defaults; IGNITY_* wins over S6_*; an unsupported one is named.
func TestOverlayVariables(t *testing.T) {
	for _, ro := range []struct {
		name string
		opts harness.Options
	}{
		{"writable root", harness.Options{Timeout: boottest.Short}},
		{"read-only root", harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity:mode=1777", "/tmp:mode=1777"}}},
	} {
		t.Run(ro.name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/etc/ignity/envs/10-app", "FROM_FILE=file\n")
				boottest.Script(t, r, "/etc/cont-init.d/10-fails", "#!/bin/sh\ns6-cat /not/shipped\nexit 3\n")
				boottest.Script(t, r, "/etc/cont-finish.d/10-slow", "#!/bin/sh\nexec sleep 10\n")
				boottest.Script(t, r, "/usr/local/bin/entry", "#!/bin/sh\necho \"entry got: $*\"\n"+boottest.WaitFor("/run/ignity/svc")+
					"echo \"service saw: $(cat /run/ignity/svc)\"\ngrep -E 'MAXTIME|STAGE2_FAILS|GRACETIME' /run/ignity/.state/boot\n")
				// A service without with-env: S6_KEEP_ENV gives it the merged environment.
				boottest.Script(t, r, "/etc/ignity/services/app/run", "#!/bin/sh\necho \"FROM_FILE=$FROM_FILE\" > /run/ignity/svc.tmp && mv /run/ignity/svc.tmp /run/ignity/svc\nexec sleep 1000\n")
				opts := ro.opts
				opts.Env = boottest.Env("S6_CMD_ARG0=/usr/local/bin/entry 'first arg'", "S6_KEEP_ENV=1", "S6_KILL_FINISH_MAXTIME=200",
					"S6_CMD_WAIT_FOR_SERVICES=1", "S6_KILL_GRACETIME=1500", "IGNITY_KILL_GRACETIME=1000", "S6_LOGGING=1")
				res := r.Boot(t, opts, "/init", "second")
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res,
					"entry got: first arg second",
					"service saw: FROM_FILE=file",
					"IGNITY_BEHAVIOUR_IF_STAGE2_FAILS=0", "IGNITY_CMD_WAIT_FOR_SERVICES_MAXTIME=0",
					"IGNITY_KILL_GRACETIME=1000",
					`IGNITY_KILL_GRACETIME="1000" and S6_KILL_GRACETIME="1500" are both set: IGNITY_KILL_GRACETIME wins`,
					"init script /etc/cont-init.d/10-fails exited 3: continuing",
					"ignity: warning: /etc/cont-init.d/10-fails:2: calls s6-cat, which ignity does not ship",
					"S6_LOGGING is not supported",
					"finalize script /etc/cont-finish.d/10-slow killed after IGNITY_KILL_FINALIZE_MAXTIME=200 ms")
				for _, once := range []string{"are both set", "S6_LOGGING is not supported"} {
					if n := strings.Count(res.Output, once); n != 1 {
						t.Errorf("%q said %d times, want once\n%s", once, n, res)
					}
				}
			})
		})
	}
}

// ignity check names a bad fix-attrs.d line and a program ignity does not
// ship, by file and line; at boot the bad line stops the container.
func TestOverlayCheck(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/cont-init.d/10-rc", "#!/command/with-contenv sh\n# s6-rc-db here is a comment\ns6-rc-db list all\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/usr/bin/ignity", "check")
		boottest.WantExit(t, res, 1)
		boottest.WantOutput(t, res, "/etc/cont-init.d/10-rc:3: calls s6-rc-db, which ignity does not ship")

		boottest.File(t, r, "/etc/fix-attrs.d/01-bad", "/data true root 0600\n")
		res = r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 100)
		boottest.WantOutput(t, res, `/etc/fix-attrs.d/01-bad:1: bad file mode "root"`)
	})
}

// TestOverlayPortableUtils: an init script calls s6-portable-utils'
// programs, by PATH and by /command/, as s6-overlay images do; the
// image's build chmods /command/s6-overlay-suexec, which runs its block
// and then the rest.
func TestOverlayPortableUtils(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/cont-init.d/10-utils", `#!/bin/sh
s6-mkdir -p -m 0750 /tmp/made/deep && s6-echo -s : made ok
s6-test -d /tmp/made/deep && s6-echo is a dir
s6-test -f /tmp/made/deep || s6-echo not a file
/command/s6-true && /command/s6-echo command true
/command/s6-false; s6-echo "false exit $?"
s6-env -i ONLY=1 /command/s6-env | s6-format-filter "env<%s>"
s6-chmod 0604 /tmp/made/deep && s6-rmrf /tmp/made && s6-test ! -e /tmp/made && s6-echo removed
s6-echo -n x; s6-echo y
s6-mkdir -q /tmp/q; s6-echo "bad option exit $?"
chmod u-s /command/s6-overlay-suexec && s6-echo chmod ok
/command/s6-overlay-suexec ' s6-echo' ' first' '' s6-echo then
`)
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "true")
		boottest.WantExit(t, res, 0)
		// stdout alone: it and stderr interleave in no reliable order.
		wantInOrder(t, res, res.Stdout, "made:ok\n", "is a dir\n", "not a file\n", "command true\n", "false exit 1\n",
			"env<ONLY=1>\n", "removed\n", "xy\n", "bad option exit 100\n", "chmod ok\n", "first\nthen\n")
		boottest.WantOutput(t, res, "s6-mkdir: fatal: unknown option -q")
	})
}

// TestOverlayWithContenvWrapper: linuxserver images replace
// /usr/bin/with-contenv with a wrapper that sets the umask, then execs
// /command/with-contenv, s6-overlay's program. Scripts and services with
// #!/usr/bin/with-contenv run through it, and the boot ends.
func TestOverlayWithContenvWrapper(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		if err := os.Remove(r.Path("/usr/bin/with-contenv")); err != nil {
			t.Fatal(err)
		}
		boottest.Script(t, r, "/usr/bin/with-contenv", `#!/bin/sh
if [ -f /run/s6/container_environment/UMASK ]; then
	umask "$(cat /run/s6/container_environment/UMASK)"
fi
exec /command/with-contenv "$@"
`)
		boottest.Script(t, r, "/etc/cont-init.d/10-set", "#!/usr/bin/with-contenv sh\nprintf 027 > /run/s6/container_environment/UMASK\nprintf hi > /run/s6/container_environment/GREETING\n")
		boottest.Script(t, r, "/etc/cont-init.d/20-see", "#!/usr/bin/with-contenv sh\necho \"init sees $GREETING umask $(umask)\"\n")
		boottest.Script(t, r, "/etc/services.d/app/run", "#!/usr/bin/with-contenv sh\necho \"service sees $GREETING umask $(umask)\"\nexec sleep 1000\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until [ "$(s6-svstat -o up /run/service/app 2>/dev/null)" = true ]; do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done; exec with-contenv sh -c 'echo "cmd sees $GREETING"'`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "init sees hi umask 0027", "cmd sees hi")
	})
}
