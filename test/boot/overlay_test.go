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

// TestOverlayV2Modes: behance's v2 images ship their cont-init.d,
// cont-finish.d and services.d scripts 0644, and its worker.sh writes run
// files with echo: s6-overlay v2 made them executable at each boot, and
// so does ignity, saying it once. ignity check warns about each.
func TestOverlayV2Modes(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/etc/cont-init.d/10-a", "#!/bin/sh\necho cont-init-ran\n")
		boottest.File(t, r, "/etc/services.d/web/run", "#!/bin/sh\ntouch /tmp/web-ran\nexec sleep 100\n")
		boottest.File(t, r, "/etc/services.d/web/finish", "#!/bin/sh\nexit 0\n")
		boottest.File(t, r, "/etc/cont-finish.d/10-z", "#!/bin/sh\necho cont-finish-ran\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/usr/bin/ignity", "check")
		boottest.WantOutput(t, res, "warning: /etc/cont-init.d/10-a: not executable: ignity makes it executable at boot, as s6-overlay v2 did")
		res = r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/web-ran")+"echo cmd-ran")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "cont-init-ran", "cmd-ran", "cont-finish-ran")
		if n := strings.Count(res.Output, "made executable"); n != 1 {
			t.Errorf("said %d times that scripts were made executable, want once\n%s", n, res)
		}
	})
}

// TestOverlayVarRunDir: an image where /var/run is a directory of its own
// (s6-overlay v2's tarball made it one) and /var/run/s6 too: v2's
// scandir path, /var/run/s6/services, leads to the live scandir.
func TestOverlayVarRunDir(t *testing.T) {
	for _, s6dir := range []bool{false, true} {
		name := "no /var/run/s6"
		if s6dir {
			name = "/var/run/s6 a directory"
		}
		t.Run(name, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				if err := os.RemoveAll(r.Path("/var/run")); err != nil {
					t.Fatal(err)
				}
				dir := "/var/run"
				if s6dir {
					dir = "/var/run/s6"
				}
				if err := os.MkdirAll(r.Path(dir), 0o755); err != nil {
					t.Fatal(err)
				}
				boottest.Script(t, r, "/etc/services.d/web/run", "#!/bin/sh\nexec sleep 100\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
					`i=0; until [ "$(s6-svstat -o up /var/run/s6/services/web 2>/dev/null)" = true ]; do i=$((i+1)); [ $i -gt 500 ] && break; sleep 0.01; done
					 echo "web: $(s6-svstat -o up /var/run/s6/services/web)"; ls /var/run/s6/container_environment >/dev/null && echo "envdir there"`)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "web: true", "envdir there")
			})
		})
	}
}

// TestOverlayQuietDefaults: a grace set long on purpose (hotio:
// S6_SERVICES_GRACETIME=180000) is said by ignity check, not at every
// boot; a USER image (serversideup's www-data) boots without a word
// about its uid; ignity status aligns names over 20 characters.
func TestOverlayQuietDefaults(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		long := "a-service-name-of-thirty-chars"
		boottest.Script(t, r, "/etc/services.d/"+long+"/run", "#!/bin/sh\nexec sleep 100\n")
		boottest.Script(t, r, "/etc/services.d/web/run", "#!/bin/sh\nexec sleep 100\n")
		env := boottest.Env("S6_SERVICES_GRACETIME=180000")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env}, "/usr/bin/ignity", "check")
		boottest.WantOutput(t, res, "a shutdown may take up to")
		// The image's own account (busybox has none: added, as an image
		// with USER has its own), given /run/ignity (RUN chown www-data
		// /run/ignity), as it was given /var/run/s6 under s6-overlay.
		if b := boottest.Read(t, r, "/etc/passwd"); !strings.Contains(b, "\nwww-data:") {
			r.WriteFile(t, "/etc/passwd", 0o644, b+"www-data:x:33:33:www-data:/var/www:/bin/false\n")
		}
		if err := os.Lchown(r.Path("/run/ignity"), 33, 33); err != nil {
			t.Fatal(err)
		}
		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env, User: "33:33"}, "/init", "sh", "-c",
			`i=0; until [ "$(s6-svstat -o up /run/service/web 2>/dev/null)" = true ]; do i=$((i+1)); [ $i -gt 500 ] && break; sleep 0.01; done; ignity status`)
		boottest.WantExit(t, res, 0)
		boottest.WantNoOutput(t, res, "a shutdown may take up to")
		boottest.WantNoOutput(t, res, "running as uid")
		// The columns after the name start at one offset on every row.
		var at []int
		for _, line := range strings.Split(res.Stdout, "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && (f[0] == long || f[0] == "web" || f[0] == "NAME") {
				at = append(at, strings.Index(line[len(f[0]):], f[1])+len(f[0]))
			}
		}
		if len(at) < 2 {
			t.Fatalf("status rows not found\n%s", res)
		}
		for _, a := range at[1:] {
			if a != at[0] {
				t.Errorf("status columns misaligned (second column at %v)\n%s", at, res.Stdout)
			}
		}
	})
}

// TestOverlayV2BuildSteps: what v2 images' builds do to s6-overlay's own
// files works on ignity's: behance's chmod and sed of
// /etc/s6/init/init-stage2-fixattrs.txt (ignity ships a file there that
// it never reads), and its non-root preparation, chown -R USER
// /var/run/s6, which ignity check names with what ignity needs instead.
func TestOverlayV2BuildSteps(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		f := "/etc/s6/init/init-stage2-fixattrs.txt"
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/bin/sh", "-c",
			"chmod 0644 "+f+" && sed -i -e 's|^/var/run/s6 .*||' "+f+" && chown -h 33 /run/s6 && echo build-ok")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "build-ok")
		boottest.Script(t, r, "/etc/services.d/web/run", "#!/bin/sh\nexec sleep 100\n")
		// The installer's /run/ignity (1777) lets uid 33 boot: nothing to say.
		res = r.Boot(t, harness.Options{Timeout: boottest.Short}, "/usr/bin/ignity", "check")
		if strings.Contains(res.Stdout+res.Stderr, "/var/run/s6: owned by uid 33") {
			t.Errorf("ignity check warns about v2's chown over a /run/ignity any uid may use:\n%s", res)
		}
		// A /run/ignity made by hand, root's and 0775, does not.
		res = r.Boot(t, harness.Options{Timeout: boottest.Short}, "/bin/sh", "-c", "chmod 0775 /run/ignity && exec /usr/bin/ignity check")
		boottest.WantOutput(t, res, "warning: /var/run/s6: owned by uid 33", "RUN chown 33 /run/ignity")
	})
}

// TestOverlayLoggingScriptFromEnvdir: a cont-init.d script writes
// S6_LOGGING_SCRIPT into the container environment during the boot, as
// s6-overlay images do: logutil-service follows it (here without the
// default's T, so no timestamp).
func TestOverlayLoggingScriptFromEnvdir(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/cont-init.d/10-log", "#!/bin/sh\nprintf 'n3 s100000' > /run/s6/container_environment/S6_LOGGING_SCRIPT\n")
		boottest.Script(t, r, "/etc/services.d/web/run", "#!/bin/sh\necho hello-log\nexec sleep 1000\n")
		boottest.Script(t, r, "/etc/services.d/web/log/run", "#!/bin/sh\nexec logutil-service /var/log/web\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c",
			`i=0; until grep -q hello-log /var/log/web/current 2>/dev/null; do i=$((i+1)); [ $i -gt 500 ] && exit 99; sleep 0.01; done; echo logged`)
		boottest.WantExit(t, res, 0)
		if cur := boottest.Read(t, r, "/var/log/web/current"); cur != "hello-log\n" {
			t.Errorf("current = %q, want hello-log alone (the envdir's S6_LOGGING_SCRIPT has no T)", cur)
		}
	})
}
