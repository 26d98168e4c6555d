package boot_test

import (
	"regexp"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
	"github.com/ignity/ignity/test/readme"
)

// The README's scripts that name the file they are (a comment "# /etc/ignity/...: what" on
// their second line) are installed as that file, their text taken from the README itself.

var namedFile = regexp.MustCompile(`(?m)\A#![^\n]*\n# (/etc/ignity/[^\s:]+)`)

// readmeScript is the README's block marked <!-- run: name --> and the path it names.
func readmeScript(t *testing.T, name string) (path, text string) {
	t.Helper()
	b := readme.RunBlock(t, name)
	m := namedFile.FindStringSubmatch(b.Text)
	if m == nil {
		t.Fatalf("%s: its second line does not name the file it is (# /etc/ignity/...)", b)
	}
	return m[1], b.Text
}

// TestReadmeFinishStopsContainer: the README's finish script, installed as the finish of a
// service whose run exits 3, stops the container: the boot ends by itself, after one death of
// run, instead of restarting the service until the timeout.
func TestReadmeFinishStopsContainer(t *testing.T) {
	path, text := readmeScript(t, "TestReadmeFinishStopsContainer")
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		dir := path[:len(path)-len("/finish")]
		if dir+"/finish" != path {
			t.Fatalf("the README's finish script names %s, want a service's finish", path)
		}
		boottest.Script(t, r, dir+"/run", "#!/bin/sh\necho run >>/tmp/runs\nexit 3\n")
		boottest.Script(t, r, path, text)
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init")
		if res.TimedOut {
			t.Fatalf("the container did not stop when %s exited 3\n%s", dir, res)
		}
		if got := boottest.Read(t, r, "/tmp/runs"); got != "run\n" {
			t.Errorf("run ran %q times, want once: the finish script stops the container at its first failure\n%s", got, res)
		}
		boottest.WantOutput(t, res, "[supervisor/finalize] Sending all processes the kill signal and exiting")
	})
}

// TestReadmeWithEnvSetuidgid: the README's run line for a service that drops privileges,
// installed as the file it names, with a myservice program that reports what it sees: the
// service runs as daemon and still sees a variable of /etc/ignity/envs (with-env reads the
// private envdir before s6-setuidgid drops root). Debian only: the busybox root has no
// daemon account.
func TestReadmeWithEnvSetuidgid(t *testing.T) {
	path, text := readmeScript(t, "TestReadmeWithEnvSetuidgid")
	harness.RequireRoot(t)
	r := boottest.NewRoot(t, harness.Debian, harness.Tarball(t))
	boottest.File(t, r, "/etc/ignity/envs/10-greeting", "GREETING=hello-from-envs\n")
	boottest.Script(t, r, "/usr/local/bin/myservice",
		"#!/bin/sh\n{ id -un; echo \"GREETING=$GREETING\"; } >/tmp/.seen && mv /tmp/.seen /tmp/seen\nexec sleep 1000\n")
	boottest.Script(t, r, path, text)
	res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", boottest.WaitFor("/tmp/seen")+"cat /tmp/seen")
	boottest.WantExit(t, res, 0)
	boottest.WantOutput(t, res, "daemon\nGREETING=hello-from-envs\n")
}

// TestReadmeDependencies: the README's dependencies file, installed where its first line
// says, with db ready only after a while and cache plain: app starts only once db is ready
// and cache is up, and the CMD only once s6 has app up.
func TestReadmeDependencies(t *testing.T) {
	b := readme.RunBlock(t, "TestReadmeDependencies")
	m := regexp.MustCompile(`\A# (/etc/ignity/services/([^/\s]+)/dependencies)\n`).FindStringSubmatch(b.Text)
	if m == nil {
		t.Fatalf("%s: its first line does not name a service's dependencies file", b)
	}
	boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
		s := "/etc/ignity/services/"
		boottest.File(t, r, m[1], b.Text)
		boottest.Script(t, r, s+"db/run", readyLater("db", "0.3"))
		boottest.File(t, r, s+"db/notification-fd", "3\n")
		boottest.Script(t, r, s+"cache/run", "#!/bin/sh\ntouch /tmp/cache-start\nexec sleep 100\n")
		boottest.Script(t, r, s+m[2]+"/run", "#!/bin/sh\ntouch /tmp/"+m[2]+"-start\nexec sleep 100\n")
		res := r.Boot(t, harness.Options{Timeout: boottest.Short}, "/init", "sh", "-c", "[ \"$(s6-svstat -o up /run/ignity/services-state/"+m[2]+")\" = true ] && echo app-was-up; "+boottest.WaitFor("/tmp/"+m[2]+"-start"))
		boottest.WantExit(t, res, 0)
		boottest.WantOutput(t, res, "app-was-up")
		wantBefore(t, r, "/tmp/db-ready", "/tmp/"+m[2]+"-start")
		wantBefore(t, r, "/tmp/cache-start", "/tmp/"+m[2]+"-start")
	})
}
