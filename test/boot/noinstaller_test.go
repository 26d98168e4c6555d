package boot_test

import (
	"os"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
)

// elService is a service whose run is an execline script with the #!
// line execline's documentation uses.
const elService = "#!/bin/execlineb -P\nforeground { touch /tmp/el-ran }\nsleep 1000\n"

const waitEl = "while [ ! -e /tmp/el-ran ]; do sleep 0.02; done"

// A busybox root with the tarball extracted and nothing else (no
// installer): /init makes /bin/execlineb, a copy, so #!/bin/execlineb
// services run.
func TestNoInstallerExeclineb(t *testing.T) {
	harness.RequireRoot(t)
	r := harness.NewRoot(t, harness.Busybox, harness.Tarball(t))
	if boottest.Exists(r, "/bin/execlineb") {
		t.Fatal("the tarball-only root has /bin/execlineb already: the test proves nothing")
	}
	boottest.Script(t, r, "/etc/ignity/services/el/run", elService)
	res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", waitEl)
	boottest.WantExit(t, res, 0)
	fi, err := os.Lstat(r.Path("/bin/execlineb"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o755 {
		t.Errorf("/bin/execlineb: %v, %v; want a regular file, mode 0755", fi, err)
	}
}

// On a read-only root without the installer /bin/execlineb cannot be
// made: the boot names the program that needs it and the fix, and stops.
func TestNoInstallerReadOnlyNamesExeclineb(t *testing.T) {
	harness.RequireRoot(t)
	r := harness.NewRoot(t, harness.Busybox, harness.Tarball(t))
	boottest.Script(t, r, "/etc/ignity/services/el/run", elService)
	res := r.Boot(t, harness.Options{Timeout: boottest.Short, ReadOnly: true, Tmpfs: []string{"/run/ignity"}}, "/init", "true")
	boottest.WantExit(t, res, 100)
	boottest.WantOutput(t, res, "ignity: error: /etc/ignity/services/el/run:1: #! interpreter /bin/execlineb is not in the image",
		"run /usr/src/install-ignity.sh at build time")
}

// RUN preboot on a tarball-only root, where /run/ignity does not exist
// yet, makes it and gives it to USER: the container then boots as that
// user.
func TestNoInstallerPrebootThenUser(t *testing.T) {
	harness.RequireRoot(t)
	r := harness.NewRoot(t, harness.Busybox, harness.Tarball(t))
	os.RemoveAll(r.Path("/run/ignity"))
	env := boottest.Env("USER=app", "USERMAP_UID=1000", "USERMAP_GID=1000")
	res := r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env}, "/usr/bin/preboot")
	boottest.WantExit(t, res, 0)
	if uid, gid, mode := boottest.Owner(t, r, "/run/ignity"); uid != 1000 || gid != 1000 || mode.Perm() != 0o775 {
		t.Errorf("/run/ignity %v %d:%d after preboot, want 0775 1000:1000", mode, uid, gid)
	}
	res = r.Boot(t, harness.Options{Timeout: boottest.Short, Env: env, User: "1000:1000"}, "/init", "sh", "-c", "id -u > /tmp/uid")
	boottest.WantExit(t, res, 0)
	if got := boottest.Read(t, r, "/tmp/uid"); got != "1000\n" {
		t.Errorf("the CMD ran as uid %q, want 1000", got)
	}
}
