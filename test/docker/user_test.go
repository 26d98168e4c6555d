package docker_test

import (
	"regexp"
	"strings"
	"testing"
)

// usermapFixture is an image prepared to run as a non-root user, the way the README says:
// its Dockerfile lines (the user and the perms applied at build time by RUN preboot, then
// USER), taken from the README, after a perms file and a service that shows who it runs as.
func usermapFixture(t *testing.T) fixture {
	return fixture{
		name: "usermap",
		files: map[string]string{
			"etc/ignity/perms/10-app": "/srv/app {{USERMAP_UID}}:{{USERMAP_GID}} 0640 0750\n",
			"srv/app/data":            "owned by app after preboot\n",
			"etc/ignity/services/whoami/run": `#!/bin/sh
{ id -u; id -un; stat -c %u:%g /srv/app/data; } >/data/.svc && mv /data/.svc /data/svc
exec sleep 1000
`,
		},
		lines: readmeLines(t, "TestUsermap"),
	}
}

// TestUsermap: an image prepared with the README's lines (RUN preboot and USER 1000:1000)
// boots as that user; its services run as it, the account exists, and the perms files were
// applied.
func TestUsermap(t *testing.T) {
	need(t)
	t.Parallel()
	img := fixtureImage(t, "debian", usermapFixture(t))
	vol := newVolume(t)
	c := newContainer(t)
	c.start(vol.mount(), img)
	c.waitFor("service marker", func() bool { return vol.has("svc") })
	if got, want := vol.read("svc"), "1000\napp\n1000:1000\n"; got != want {
		t.Errorf("the service saw uid, user name, owner of /srv/app/data = %q, want %q\n--- logs\n%s", got, want, c.logs())
	}
	if took := c.stop(); took > stopMax {
		t.Errorf("docker stop took %v, want < %v", took, stopMax)
	}
	c.wantExited(0)
	if logs := c.logs(); strings.Contains(logs, "ignity: error") {
		t.Errorf("errors in the log\n%s", logs)
	}
}

// TestArbitraryUser: docker run --user 12345:0 (an uid the image does not
// know, group 0, as OpenShift runs images) runs the CMD and the services
// as that uid, and ignity says what it skipped because it is not root.
func TestArbitraryUser(t *testing.T) {
	need(t)
	t.Parallel()
	img := fixtureImage(t, "debian", markerFixture)
	vol := newVolume(t)
	res := newContainer(t).run(nil, append([]string{"--rm", "--user", "12345:0"}, vol.mount()...), img,
		"sh", "-c", `id -u; until [ -e /data/svc ]; do sleep 0.05; done; cat /data/svc`)
	wantCode(t, res, 0)
	if want := "12345\n12345\n"; res.Stdout != want {
		t.Fatalf("uid of the CMD, then of the service: %q, want %q\n%s", res.Stdout, want, res)
	}
	skipped := regexp.MustCompile(`(?m)^ignity: warning: .*uid 12345.*skip`)
	if !skipped.MatchString(res.Stderr) {
		t.Fatalf("no warning saying what was skipped as uid 12345 (want a line matching %q)\n%s", skipped, res)
	}
}
