package boot_test

import (
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

func TestPrebootThenNonRootUser(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		ids := boottest.Env("USERMAP_UID=1000", "USERMAP_GID=1000", "USER=app")
		boottest.File(t, r, "/srv/data/file", "x")
		boottest.File(t, r, "/etc/ignity/perms/10-data", "/srv/data {{USERMAP_UID}}:{{USERMAP_GID}} 0600 0700\n")
		boottest.Script(t, r, "/etc/ignity/services/svc/run", "#!/bin/sh\nid -u > /srv/data/uid.tmp && mv /srv/data/uid.tmp /srv/data/service-uid\nexec sleep 100\n")
		// RUN preboot, at image build time, as root.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: ids}, "/usr/bin/preboot")
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "[supervisor/perm] Ownership & permissions fixes applied")
		// USER 1000:1000, at run time.
		res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: ids, User: "1000:1000"}, "/init", "sh", "-c",
			boottest.WaitFor("/srv/data/service-uid")+`echo "cmd uid $(id -u), service uid $(cat /srv/data/service-uid)"; stat -c '%u %a' /run/ignity/envs`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "cmd uid 1000, service uid 1000", "1000 700\n")
		boottest.WantNoOutput(t, res, "not root") // the image was prepared for this user
		if uid, gid, mode := boottest.Owner(t, r, "/srv/data/file"); uid != 1000 || gid != 1000 || mode != 0o600 {
			t.Errorf("/srv/data/file: %d:%d %v after preboot, want 1000:1000 0600", uid, gid, mode)
		}
	})
}

func TestArbitraryUIDInGroupZero(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.Script(t, r, "/etc/ignity/services/svc/run", "#!/bin/sh\nid -u > /run/ignity/uid.tmp && mv /run/ignity/uid.tmp /run/ignity/service-uid\nexec sleep 100\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, User: "12345:0"}, "/init", "sh", "-c",
			boottest.WaitFor("/run/ignity/service-uid")+`echo "cmd uid $(id -u), service uid $(cat /run/ignity/service-uid)"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "cmd uid 12345, service uid 12345", "running as uid 12345, not root and not the image's prepared user (USER=root, USERMAP_UID=0): user creation and ownership changes are skipped")
	})
}

func TestReadOnlyRootWithTmpfs(t *testing.T) {
	for _, tmpfs := range []string{"/run/ignity", "/run/ignity:noexec"} {
		t.Run(tmpfs, func(t *testing.T) {
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				boottest.File(t, r, "/etc/ignity/envs/10-a", "FROM_FILE=yes\n")
				boottest.Script(t, r, "/etc/ignity/init/10-a", "#!/bin/sh\necho init-ran > /tmp/init\n")
				boottest.Script(t, r, "/etc/ignity/services/svc/run", "#!/usr/bin/with-env sh\necho \"service sees $FROM_FILE\" > /tmp/service\nexec sleep 100\n")
				boottest.Script(t, r, "/etc/ignity/finalize/10-a", "#!/bin/sh\necho finalize-ran\n")
				res := r.Boot(t, harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{tmpfs, "/tmp"}}, "/init", "sh", "-c",
					boottest.WaitFor("/tmp/service")+`cat /tmp/init /tmp/service; touch /etc/probe 2>/dev/null || echo root-is-read-only`)
				boottest.WantExit(t, res, 0)
				boottest.WantOutput(t, res, "init-ran", "service sees yes", "root-is-read-only", "finalize-ran")
			})
		})
	}
}

func TestReadOnlyRootWithoutTmpfs(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, ReadOnly: true}, "/init", "true")
		boottest.WantExit(t, res, 111)
		boottest.WantOutput(t, res, "mount a tmpfs there")
	})
}

func TestFixPermsHelper(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		boottest.File(t, r, "/srv/x/f", "x")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/bin/sh", "-c", `echo '/srv/x 1000:1000 0640 0750' | fix-perms && echo bad | fix-perms; echo "bad=$?"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "stdin:1:", "bad=100")
		if uid, _, mode := boottest.Owner(t, r, "/srv/x/f"); uid != 1000 || mode != 0o640 {
			t.Errorf("/srv/x/f: uid %d mode %v, want 1000 0640", uid, mode)
		}
	})
}

func TestWithEnvWithoutEnvdir(t *testing.T) {
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		// At image build time there is no /run/ignity/envs: with-env runs
		// the program with the current environment.
		res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: boottest.Env("X=current")}, "/usr/bin/with-env", "sh", "-c", `echo "X=$X"`)
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "X=current")
	})
}
