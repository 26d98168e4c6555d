package docker_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The examples of examples/ are built and run as the README shows them: the nginx-php image
// from its own Dockerfile, the Compose file with docker-compose, the Kubernetes contract
// (examples/kubernetes) with the docker options that stand for it.

// The two rewrites the README allows when an example runs: its FROM line becomes a local
// base, its tarball's file name the one under test.
var (
	fromLine    = regexp.MustCompile(`(?m)^FROM .*$`)
	tarballName = regexp.MustCompile(`ignity-[0-9A-Za-z.+~-]+-x86_64\.tar\.gz`)
)

// exampleImage builds examples/NAME from its Dockerfile, FROM ignity-base:base, with the
// tarball under test; the image is shared by the tests of a run.
func exampleImage(t *testing.T, name, base string) string {
	t.Helper()
	return cached(t, "example-"+name, func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(the.module, "examples", name)
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			return err
		}
		df, err := os.ReadFile(filepath.Join(src, "Dockerfile"))
		if err != nil {
			return err
		}
		tb := filepath.Base(the.tarball)
		text := fromLine.ReplaceAllString(string(df), "FROM ignity-base:"+base+"\n"+strings.TrimSuffix(runLabel(), "\n"))
		text = tarballName.ReplaceAllString(text, tb)
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644); err != nil {
			return err
		}
		if err := copyFile(the.tarball, filepath.Join(dir, tb)); err != nil {
			return err
		}
		return buildImage(dir, ref)
	})
}

// nginxPHP is examples/nginx-php built on the web base.
func nginxPHP(t *testing.T) string { return exampleImage(t, "nginx-php", webBase) }

const phpGreeting = "Hello from PHP "

// page is what GET / returns inside the container, "" when it fails.
func (c *container) page() string {
	res := docker(bg(), nil, "exec", c.name, "curl", "-fsS", "--max-time", "2", "http://127.0.0.1:8080/")
	if res.Code != 0 {
		return ""
	}
	return res.Stdout
}

// servicePid is s6's pid for the service's run process, "" when down.
func (c *container) servicePid(name string) string {
	res := docker(bg(), nil, "exec", c.name, "s6-svstat", "-o", "pid", "/run/ignity/services-state/"+name)
	if p := strings.TrimSpace(res.Stdout); res.Code == 0 && p != "-1" && p != "0" {
		return p
	}
	return ""
}

// TestNginxPHP: examples/nginx-php serves its PHP page through nginx and php-fpm, turns
// healthy, recovers from kill -9 of each daemon's master, and stops gracefully and fast on
// docker stop, each daemon logging its clean exit.
func TestNginxPHP(t *testing.T) {
	need(t)
	t.Parallel()
	img := nginxPHP(t)
	c := newContainer(t)
	c.start([]string{"--health-interval", "1s"}, img)
	c.waitFor("the PHP page", func() bool { return strings.HasPrefix(c.page(), phpGreeting) })
	c.waitFor("docker's healthy", func() bool { s, _ := c.health(); return s == "healthy" })
	if res := docker(bg(), nil, "exec", c.name, "ignity", "health"); res.Code != 0 {
		t.Fatalf("ignity health in the running container:\n%s", res)
	}

	for _, svc := range []string{"php-fpm", "nginx"} {
		pid := c.servicePid(svc)
		if pid == "" {
			t.Fatalf("%s is not up\n%s", svc, c.logs())
		}
		c.exec(t, "kill", "-9", pid)
		c.waitFor("a new "+svc+" serving the PHP page", func() bool {
			p := c.servicePid(svc)
			return p != "" && p != pid && strings.HasPrefix(c.page(), phpGreeting)
		})
		t.Logf("%s: master %s killed with -9, restarted as %s", svc, pid, c.servicePid(svc))
	}
	if res := docker(bg(), nil, "exec", c.name, "ignity", "health"); res.Code != 0 {
		t.Fatalf("ignity health after the restarts:\n%s", res)
	}

	if took := c.stop(); took > stopMax {
		t.Errorf("docker stop took %v, want < %v\n--- logs\n%s", took, stopMax, c.logs())
	}
	c.wantExited(0)
	logs := c.logs()
	// The services' down-signal is SIGQUIT, each daemon's graceful stop; their own lines say
	// they stopped on it, not on the SIGKILL of timeout-kill.
	wantContains(t, "docker logs", logs,
		"signal 3 (SIGQUIT) received", // nginx's master
		"gracefully shutting down",    // nginx's workers
		"Finishing ...",               // php-fpm's graceful stop
		"exiting, bye-bye!",           // php-fpm's master
		"[supervisor/finalize] Sending all processes the kill signal and exiting")
	if !regexp.MustCompile(`\[notice\] \d+#\d+: exit\n`).MatchString(logs) {
		t.Errorf("docker logs lack nginx master's \"[notice] N#N: exit\"\n%s", logs)
	}
	if strings.Contains(logs, "ignity: error") {
		t.Errorf("errors in the log\n%s", logs)
	}
	wantSample(t, logs, "nginx-php-run.txt")
}

// mask makes a log line comparable across runs: numbers (pids, times, versions) and
// month names become placeholders.
var maskNumber, maskMonth = regexp.MustCompile(`[0-9]+`), regexp.MustCompile(`-[A-Z][a-z][a-z]-`)

func mask(line string) string {
	return maskMonth.ReplaceAllString(maskNumber.ReplaceAllString(line, "N"), "-Mon-")
}

// wantSample checks the output sample testdata/NAME, which the README shows verbatim
// (<!-- output: test/docker/testdata/NAME -->), against a real run's logs: every line of it,
// numbers and month names masked, is a line of the logs; a line "..." stands for lines left
// out.
func wantSample(t *testing.T, logs, name string) {
	t.Helper()
	sample, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, l := range strings.Split(logs, "\n") {
		got[mask(l)] = true
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(sample), "\n"), "\n") {
		if l != "..." && !got[mask(l)] {
			t.Errorf("testdata/%s: the line %q is not in the real run's logs (numbers masked): update the sample from a real run, and the README\n--- logs\n%s", name, l, logs)
		}
	}
}

// TestKubernetesContract: what examples/kubernetes/deployment.yaml asks of the pod, with
// docker run: an arbitrary uid in group 0 (runAsUser 12345, runAsGroup 0), a read-only
// root with tmpfs at /run/ignity and /tmp (the memory emptyDirs), the probe from an exec
// probe's bare environment, ignity not PID 1 (docker's tini is, as the pause process is with
// shareProcessNamespace), and docker stop within ignity's stop bound.
func TestKubernetesContract(t *testing.T) {
	need(t)
	t.Parallel()
	img := nginxPHP(t)
	c := newContainer(t)
	c.start([]string{"--user", "12345:0", "--read-only", "--tmpfs", "/tmp", "--tmpfs", "/run/ignity", "--init"}, img)
	c.waitFor("the PHP page", func() bool { return strings.HasPrefix(c.page(), phpGreeting) })
	probe := []string{"exec", c.name, "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "ignity", "health"}
	c.waitFor("ignity health from a bare environment", func() bool { return docker(bg(), nil, probe...).Code == 0 })
	if got := strings.TrimSpace(c.exec(t, "cat", "/proc/1/comm")); got != "docker-init" {
		t.Errorf("PID 1 is %q, want docker-init (ignity not PID 1)", got)
	}
	// Every process of the container, as the host's ps sees it (no user namespace).
	top := docker(bg(), nil, "top", c.name, "-eo", "pid,uid,comm")
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(top.Stdout), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		seen[f[2]] = true
		if f[1] != "12345" {
			t.Errorf("%s runs as uid %s, want 12345\n%s", f[2], f[1], top.Stdout)
		}
	}
	for _, want := range []string{"docker-init", "s6-svscan", "s6-supervise", "nginx", "php-fpm8.2"} {
		if !seen[want] {
			t.Errorf("no %s among the container's processes\n%s", want, top)
		}
	}
	// The README's bound with the defaults (no finalize script here): 5 s + 3 s.
	const bound = 8 * time.Second
	if took := c.stop("-t", "15"); took > bound {
		t.Errorf("docker stop took %v, above ignity's stop bound of %v\n--- logs\n%s", took, bound, c.logs())
	}
	c.wantExited(0)
	if logs := c.logs(); strings.Contains(logs, "ignity: error") {
		t.Errorf("errors in the log\n%s", logs)
	}
}
