package docker_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// The web base (scripts/docker-base.sh web): Debian's nginx, php-fpm, curl.
const webBase = "web"

var nginxRun = "#!/bin/sh\nexec nginx -g 'daemon off;'\n"

// health is docker inspect's .State.Health.Status and how many checks ran.
func (c *container) health() (string, int) {
	res := c.do("inspect", "-f", "{{.State.Health.Status}} {{len .State.Health.Log}}")
	f := strings.Fields(res.Stdout)
	if res.Code != 0 || len(f) != 2 {
		return "", 0
	}
	n, _ := strconv.Atoi(f[1])
	return f[0], n
}

// TestHealthcheck: the README's HEALTHCHECK line (its interval and retries overridden at
// docker run, so that the test takes seconds) makes the container healthy; a service taken down with s6-svc -d (not wanted up) leaves it
// healthy; a health program that fails once /tmp/sick exists makes it
// unhealthy.
func TestHealthcheck(t *testing.T) {
	need(t)
	img := fixtureImage(t, webBase, fixture{name: "healthcheck", files: map[string]string{
		"etc/ignity/services/nginx/run":    nginxRun,
		"etc/ignity/services/nginx/health": "#!/bin/sh\n[ ! -e /tmp/sick ] && curl -fsS -o /dev/null http://127.0.0.1/\n",
		"etc/ignity/services/side/run":     "#!/bin/sh\nexec sleep 1000\n",
	}, lines: readmeLines(t, "TestHealthcheck")})
	c := newContainer(t)
	c.start([]string{"--health-interval", "1s", "--health-retries", "1"}, img)
	c.waitFor("healthy", func() bool { s, _ := c.health(); return s == "healthy" })
	c.exec(t, "s6-svc", "-d", "/run/ignity/services-state/side")
	_, n := c.health()
	c.waitFor("two more checks after s6-svc -d", func() bool { _, m := c.health(); return m >= n+2 || m >= 5 })
	if s, _ := c.health(); s != "healthy" {
		t.Fatalf("after s6-svc -d of a service: %s, want healthy (not wanted up)\n%s", s, c.logs())
	}
	c.exec(t, "touch", "/tmp/sick")
	c.waitFor("unhealthy", func() bool { s, _ := c.health(); return s == "unhealthy" })
}

func bg() context.Context { return context.Background() }

// exec runs argv in the container and fails the test if it fails.
func (c *container) exec(t *testing.T, argv ...string) string {
	t.Helper()
	res := docker(bg(), nil, append([]string{"exec", c.name}, argv...)...)
	if res.Code != 0 {
		t.Fatalf("docker exec %v:\n%s", argv, res)
	}
	return res.Stdout
}

// TestEssentialExitStatus: docker run of an image whose essential service
// exits 3 returns 3.
func TestEssentialExitStatus(t *testing.T) {
	need(t)
	img := fixtureImage(t, webBase, fixture{name: "essential", files: map[string]string{
		"etc/ignity/services/app/run":       "#!/bin/sh\nexit 3\n",
		"etc/ignity/services/app/essential": "",
	}})
	c := newContainer(t)
	res := c.run(nil, nil, img)
	if res.Code != 3 {
		t.Fatalf("docker run: exit %d, want 3\n%s", res.Code, res)
	}
}

// TestNginxRecoversFromKill9: Debian's nginx, its master killed with -9,
// is restarted (its workers, left holding port 80, are cleaned up) and
// serves again.
func TestNginxRecoversFromKill9(t *testing.T) {
	need(t)
	img := fixtureImage(t, webBase, fixture{name: "nginx", files: map[string]string{
		"etc/ignity/services/nginx/run": nginxRun,
	}})
	c := newContainer(t)
	c.start(nil, img)
	serves := func() bool {
		return docker(bg(), nil, "exec", c.name, "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1/").Code == 0
	}
	c.waitFor("nginx serving", serves)
	pid := strings.TrimSpace(c.exec(t, "cat", "/run/nginx.pid"))
	c.exec(t, "kill", "-9", pid)
	c.waitFor("a new nginx master serving", func() bool {
		res := docker(bg(), nil, "exec", c.name, "cat", "/run/nginx.pid")
		return res.Code == 0 && strings.TrimSpace(res.Stdout) != pid && serves()
	})
}
