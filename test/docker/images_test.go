package docker_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The image tier: four images shaped like public s6-overlay images (testdata/images/README.md
// says which, and which of their conventions each exercises), built from their own
// Dockerfiles with ignity's tarball in place of s6-overlay's and every other file as their
// authors would write it. For each: it builds; every oneshot (or init script) ran, in order;
// the application answers; docker stop ends inside docker's 10 s with the status s6-overlay
// gives; kill -9 of the main daemon recovers; docker run IMAGE CMD runs the CMD once
// everything is ready and exits with its status.
//
// Every fixture appends the name of each init step to /tmp/boot-order as it runs. The CMDs
// exit with a status of 101 and up, which neither curl nor ignity gives.

// imageStopMax is docker stop's own bound: past it, docker kills the container.
const imageStopMax = 10 * time.Second

// imageCmdMax bounds docker run of an image with a CMD: its boot, the CMD and the stop take
// seconds; a boot that never ends (a with-contenv that execs itself) must not hold the test
// for docker's own bound.
const imageCmdMax = time.Minute

// imageFixture builds testdata/images/NAME from its Dockerfile, the tarball under test
// beside it (its name passed as the TARBALL build argument); the image is shared by the
// tests of a run. Files keep their execute bits, 0755 or 0644 whatever the umask: a fixture
// that ships a script 0644 does so on purpose.
func imageFixture(t *testing.T, name string) string {
	t.Helper()
	return cached(t, "image-"+name, func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(the.module, "test", "docker", "testdata", "images", name)
		if err := copyModes(src, dir); err != nil {
			return err
		}
		df, err := os.ReadFile(filepath.Join(src, "Dockerfile"))
		if err != nil {
			return err
		}
		text := fromLine.ReplaceAllStringFunc(string(df), func(from string) string {
			return from + "\n" + strings.TrimSuffix(runLabel(), "\n")
		})
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644); err != nil {
			return err
		}
		tb := filepath.Base(the.tarball)
		if err := copyFile(the.tarball, filepath.Join(dir, tb)); err != nil {
			return err
		}
		return buildImage(dir, ref, "--build-arg", "TARBALL="+tb)
	})
}

// copyModes copies the tree src into dst: directories 0755, files 0755 when their owner may
// execute them, else 0644; empty files (s6-rc's contents.d and dependencies.d entries) too.
func copyModes(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			return os.Chmod(out, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		mode := os.FileMode(0o644)
		if info.Mode()&0o100 != 0 {
			mode = 0o755
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, b, mode); err != nil {
			return err
		}
		return os.Chmod(out, mode) // past the umask
	})
}

// runCmd runs the container in the foreground with the CMD cmd, within imageCmdMax.
func (c *container) runCmd(opts []string, image string, cmd ...string) result {
	ctx, cancel := context.WithTimeout(bg(), imageCmdMax)
	defer cancel()
	return docker(ctx, nil, c.runArgs(opts, image, cmd)...)
}

// on is c with its checks reported to t: a subtest's failures are the subtest's.
func (c *container) on(t *testing.T) *container { return &container{t: t, name: c.name} }

// try runs argv in the container; its stdout, trimmed, and whether it exited 0.
func (c *container) try(argv ...string) (string, bool) {
	res := docker(bg(), nil, append([]string{"exec", c.name}, argv...)...)
	return strings.TrimSpace(res.Stdout), res.Code == 0
}

// poll waits until cond holds, failing after bootTimeout, or at once when the container is
// no longer running, with what it printed.
func (c *container) poll(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for !cond() {
		status, code := c.state()
		if status != "running" {
			c.t.Fatalf("no %s: the container is %s, exit code %d\n--- logs\n%s", what, status, code, c.logs())
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %s after %v\n--- logs\n%s", what, bootTimeout, c.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// running fails the test at once, without the logs (the first failure printed them), when
// the container is no longer running.
func (c *container) running() *container {
	c.t.Helper()
	if status, code := c.state(); status != "running" {
		c.t.Fatalf("the container is %s, exit code %d: see the first failure for its logs", status, code)
	}
	return c
}

// get is the body of url fetched with curl inside the container, "" when that fails.
func (c *container) get(url string) string {
	out, ok := c.try("curl", "-fsS", "--max-time", "2", url)
	if !ok {
		return ""
	}
	return out
}

// wantOrder checks /tmp/boot-order, the init steps in the order they ran.
func (c *container) wantOrder(want []string) {
	c.t.Helper()
	got, _ := c.try("cat", "/tmp/boot-order")
	if got != strings.Join(want, "\n") {
		c.t.Errorf("the init steps ran as\n%s\nwant, in this order,\n%s", got, strings.Join(want, "\n"))
	}
}

// wantRecovers kills the run process of the service in the scandir dir (s6-overlay's
// /run/service or /var/run/s6/services) with SIGKILL, then waits for s6 to run a new one
// and for answers to hold again.
func (c *container) wantRecovers(svcdir string, answers func() bool) {
	c.t.Helper()
	pid, ok := c.try("s6-svstat", "-o", "pid", svcdir)
	if !ok || pid == "" || pid == "-1" {
		c.t.Fatalf("no pid for %s: s6-svstat says %q\n--- logs\n%s", svcdir, pid, c.logs())
	}
	if _, ok := c.try("kill", "-9", pid); !ok {
		c.t.Fatalf("kill -9 %s (%s) failed", pid, svcdir)
	}
	c.poll("new run process answering after kill -9 "+pid, func() bool {
		now, ok := c.try("s6-svstat", "-o", "pid", svcdir)
		return ok && now != pid && now != "-1" && answers()
	})
}

// wantStop runs docker stop and checks that it ended inside docker's bound with code.
func (c *container) wantStop(code int) {
	c.t.Helper()
	if took := c.stop(); took >= imageStopMax {
		c.t.Errorf("docker stop took %v, want < %v (docker killed the container)\n--- logs\n%s", took, imageStopMax, c.logs())
	}
	c.wantExited(code)
}

// ---- linuxserver ----

var lsioOrder = []string{
	"docker-mods", // S6_STAGE2_HOOK
	"init-migrations",
	"init-adduser",
	"init-app-config",
	"init-mod-hello", // added to the user bundle by the hook
	"init-custom-files",
	"custom-cont-init.d/10-hello.sh",
}

const lsioPage = "Hello from the linuxserver-like app"

// lsioEnv is how linuxserver's READMEs run their images.
var lsioEnv = []string{"-e", "PUID=1234", "-e", "PGID=1234", "-e", "UMASK=027", "-e", "TZ=Etc/UTC"}

// TestImageLinuxserver: a linuxserver.io-style image (user/contents.d only, the oneshot
// chain, S6_STAGE2_HOOK replacing /usr/bin/with-contenv with the UMASK wrapper that execs
// /command/with-contenv, PUID/PGID, svc-app with notification-fd).
func TestImageLinuxserver(t *testing.T) {
	need(t)
	t.Parallel()
	img := imageFixture(t, "linuxserver-base")
	t.Run("daemon", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start(lsioEnv, img)
		page := func() bool { return c.get("http://127.0.0.1/") == lsioPage }
		t.Run("answers", func(t *testing.T) { c.on(t).poll("page from svc-app", page) })
		t.Run("oneshots in order", func(t *testing.T) { c.on(t).running().wantOrder(lsioOrder) })
		t.Run("PUID and PGID", func(t *testing.T) {
			c.on(t).running()
			if got, _ := c.try("stat", "-c", "%u:%g", "/config"); got != "1234:1234" {
				t.Errorf("/config is owned by %q, want 1234:1234 (init-adduser: usermod abc to PUID, PGID)", got)
			}
		})
		// The wrapper applies UMASK when the service's cwd is one of s6-overlay's service
		// dirs; nginx (as root) creates its access log with 0644 under the umask.
		t.Run("UMASK in svc-app", func(t *testing.T) {
			c.on(t).running()
			if got, _ := c.try("stat", "-c", "%a", "/config/log/nginx/access.log"); got != "640" {
				cwd, _ := c.try("sh", "-c", `readlink /proc/$(s6-svstat -o pid /run/service/svc-app)/cwd`)
				t.Errorf("nginx's access log has mode %q, want 640 (UMASK=027); svc-app's cwd is %q", got, cwd)
			}
		})
		t.Run("kill -9 recovers", func(t *testing.T) { c.on(t).running().wantRecovers("/run/service/svc-app", page) })
		t.Run("docker stop", func(t *testing.T) { c.on(t).wantStop(0) })
	})
	t.Run("cmd", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		res := c.runCmd(lsioEnv, img, "bash", "-c", "cat /tmp/boot-order && curl -fsS http://127.0.0.1/ && exit 101")
		wantCode(t, res, 101)
		wantContains(t, "the CMD's output", res.Stdout, strings.Join(lsioOrder, "\n")+"\n"+lsioPage)
	})
}

// ---- serversideup ----

var ssuOrder = []string{
	"0-container-info.sh", // /etc/entrypoint.d, run by the oneshot
	"10-init-webserver-config.sh",
	"50-laravel-automations.sh",
	"php-fpm",                   // after the oneshot (dependencies.d)
	"nginx (php-fpm answering)", // after php-fpm is ready (the dependencies file)
}

const ssuPage = "serversideup-like: PHP 8.2"

// TestImageServersideup: a serversideup/php fpm-nginx-style image (USER www-data; nginx
// after php-fpm through a `dependencies` file; php-fpm ready through notification-fd and
// s6-notifyoncheck; /etc/entrypoint.d scripts run by a oneshot first).
func TestImageServersideup(t *testing.T) {
	need(t)
	t.Parallel()
	img := imageFixture(t, "serversideup-fpm-nginx")
	t.Run("daemon", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start(nil, img)
		page := func() bool { return strings.HasPrefix(c.get("http://127.0.0.1:8080/"), ssuPage) }
		t.Run("answers", func(t *testing.T) { c.on(t).poll("PHP page through nginx", page) })
		t.Run("oneshot and services in order", func(t *testing.T) { c.on(t).running().wantOrder(ssuOrder) })
		// A normal non-root image: nothing to warn about.
		t.Run("no warning", func(t *testing.T) {
			for _, l := range strings.Split(c.logs(), "\n") {
				if strings.HasPrefix(l, "ignity: warning") {
					t.Errorf("the boot warns: %s", l)
				}
			}
		})
		t.Run("kill -9 of php-fpm recovers", func(t *testing.T) {
			c.on(t).running().wantRecovers("/run/service/php-fpm", page)
		})
		t.Run("kill -9 of nginx recovers", func(t *testing.T) {
			c.on(t).running().wantRecovers("/run/service/nginx", page)
		})
		t.Run("docker stop", func(t *testing.T) { c.on(t).wantStop(0) })
	})
	t.Run("cmd", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		res := c.runCmd(nil, img, "sh", "-c", "cat /tmp/boot-order && curl -fsS http://127.0.0.1:8080/index.php && exit 102")
		wantCode(t, res, 102)
		wantContains(t, "the CMD's output", res.Stdout, strings.Join(ssuOrder, "\n")+"\n"+ssuPage)
	})
}

// ---- Home Assistant add-on ----

var haOrder = []string{
	"base-addon-banner", // the base's, from /package/admin/s6-overlay-VERSION/.../sources
	"base-addon-log-level",
	"init-nginx", // the add-on's
}

const haPage = "Hello from the add-on"

// The line nginx's finish prints when nginx stopped on docker stop's SIGTERM (nginx exits 0).
const haFinishAtStop = "Service nginx exited with code 0 (by signal 0)"

// TestImageHomeAssistant: a Home Assistant add-on-style image (the base's oneshots in
// s6-overlay's own source tree, bashio scripts, a finish that writes the exit code file and
// calls halt, its lines in docker logs at the stop).
func TestImageHomeAssistant(t *testing.T) {
	need(t)
	t.Parallel()
	img := imageFixture(t, "hassio-addon")
	t.Run("daemon", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start(nil, img)
		page := func() bool { return c.get("http://127.0.0.1/") == haPage }
		t.Run("answers", func(t *testing.T) { c.on(t).poll("the add-on's page", page) })
		t.Run("oneshots in order", func(t *testing.T) { c.on(t).running().wantOrder(haOrder) })
		// s6-overlay's exit code is what the exit code file holds: nothing wrote it.
		t.Run("docker stop", func(t *testing.T) {
			c := c.on(t)
			c.wantStop(0)
			wantContains(t, "docker logs", c.logs(), "Add-on: Example add-on", haFinishAtStop)
		})
	})
	// A SIGKILL the add-on did not ask for: the finish keeps 128+9 as the add-on's exit code
	// and nginx restarts; at docker stop the container exits with it, as under s6-overlay.
	t.Run("kill -9", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start(nil, img)
		page := func() bool { return c.get("http://127.0.0.1/") == haPage }
		c.poll("the add-on's page", page)
		c.wantRecovers("/run/service/nginx", page)
		if got, _ := c.try("cat", "/run/s6-linux-init-container-results/exitcode"); got != "137" {
			t.Errorf("the exit code file holds %q after kill -9, want 137 (written by nginx's finish)\n--- logs\n%s", got, c.logs())
		}
		c.wantStop(137)
		wantContains(t, "docker logs", c.logs(), "Service nginx exited with code 256 (by signal 9)", haFinishAtStop)
	})
	t.Run("cmd", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		res := c.runCmd(nil, img, "bash", "-c", "cat /tmp/boot-order && curl -fsS http://127.0.0.1/ && exit 103")
		wantCode(t, res, 103)
		wantContains(t, "the CMD's output", res.Stdout, strings.Join(haOrder, "\n")+"\n"+haPage)
	})
}

// ---- behance ----

var behanceOrder = []string{
	"run.d/10-nginx-workers.sh", // by /run.sh, before the process manager
	"10-nginx-config.sh",        // /etc/cont-init.d, shipped 0644
	"20-index-page.sh",
}

const behancePage = "Hello from the behance-like image (behance-like)"

// TestImageBehance: a behance docker-nginx-style s6-overlay v2 image (the s6-true build
// gate, the build's edit of init-stage2-fixattrs.txt, cont-init.d and services.d scripts
// 0644, a finish that stops the container through s6-test and s6-svscanctl when nginx
// fails, /run.sh as CMD, worker.sh, and --user www-data with /var/run/s6 chowned to it).
func TestImageBehance(t *testing.T) {
	need(t)
	t.Parallel()
	img := imageFixture(t, "behance-nginx")
	page := func(c *container) func() bool {
		return func() bool { return c.get("http://127.0.0.1:8080/") == behancePage }
	}
	t.Run("daemon", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start(nil, img)
		t.Run("answers", func(t *testing.T) { c.on(t).poll("the page", page(c)) })
		t.Run("init scripts in order", func(t *testing.T) { c.on(t).running().wantOrder(behanceOrder) })
		t.Run("kill -9 recovers", func(t *testing.T) {
			c.on(t).running().wantRecovers("/var/run/s6/services/nginx", page(c))
		})
		t.Run("docker stop", func(t *testing.T) { c.on(t).wantStop(0) })
	})
	// As behance's docs run it: --user www-data. nginx then fails to start again (a broken
	// configuration, restarted with s6-svc -r): its finish stops the container.
	t.Run("non-root", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start([]string{"--user", "www-data"}, img)
		t.Run("answers", func(t *testing.T) { c.on(t).poll("the page", page(c)) })
		t.Run("init scripts in order", func(t *testing.T) { c.on(t).running().wantOrder(behanceOrder) })
		t.Run("failing nginx stops the container", func(t *testing.T) {
			c := c.on(t).running()
			c.exec(t, "sh", "-c", `echo "not_a_directive;" >>/etc/nginx/sites-available/default`)
			c.exec(t, "s6-svc", "-r", "/var/run/s6/services/nginx")
			deadline := time.Now().Add(bootTimeout)
			for {
				if status, _ := c.state(); status == "exited" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the container still runs %v after nginx failed: its finish did not stop it\n--- logs\n%s", bootTimeout, c.logs())
				}
				time.Sleep(100 * time.Millisecond)
			}
			wantContains(t, "docker logs", c.logs(), `[emerg]`, `unknown directive "not_a_directive"`)
		})
	})
	t.Run("worker.sh", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		c.start([]string{"--user", "www-data"}, img, "/worker.sh", "2", "sleep", "1000")
		c.poll("two workers up", func() bool {
			// s6-svstat reads one service dir a call.
			for _, w := range []string{"worker-1", "worker-2"} {
				if out, ok := c.try("s6-svstat", "-o", "up", "/var/run/s6/services/"+w); !ok || out != "true" {
					return false
				}
			}
			return true
		})
		if _, ok := c.try("test", "-e", "/var/run/s6/services/nginx"); ok {
			t.Errorf("nginx is supervised in worker mode\n--- logs\n%s", c.logs())
		}
		c.wantStop(0)
	})
	t.Run("cmd", func(t *testing.T) {
		t.Parallel()
		c := newContainer(t)
		// v2 waits for the services to be up (S6_CMD_WAIT_FOR_SERVICES=1), not for nginx to
		// listen: curl retries a refused connection.
		res := c.runCmd(nil, img, "/bin/bash", "/run.sh", "bash", "-c",
			"cat /tmp/boot-order && s6-svstat -o up /var/run/s6/services/nginx && "+
				"curl -fsS --retry 20 --retry-connrefused --retry-delay 1 http://127.0.0.1:8080/ && exit 104")
		wantCode(t, res, 104)
		// In order; nginx's own line may come between them (one stdout).
		want := append(append([]string{}, behanceOrder...), "true", behancePage)
		at := 0
		for _, line := range want {
			i := strings.Index(res.Stdout[at:], line)
			if i < 0 {
				t.Fatalf("the CMD's output lacks %q after byte %d, or has it out of order:\n%s", line, at, res.Stdout)
			}
			at += i + len(line)
		}
	})
}
