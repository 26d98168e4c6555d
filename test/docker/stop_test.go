package docker_test

import (
	"strings"
	"testing"
	"time"
)

// stopMax is what docker stop may take when every service stops at
// SIGTERM: far below docker stop's 10 s before it sends SIGKILL.
const stopMax = 5 * time.Second

// markerFixture's service shows, on the volume at /data, that it runs,
// as which uid, and that it was asked to stop.
var markerFixture = fixture{
	name: "marker",
	files: map[string]string{
		"etc/ignity/services/marker/run": `#!/bin/sh
trap 'echo stopped >/data/term; exit 0' TERM
id -u >/data/.svc && mv /data/.svc /data/svc
# wait returns at once when the trapped TERM arrives; a foreground sleep would delay it.
while :; do sleep 1 & wait $!; done
`,
	},
}

// TestStop: docker stop runs the services' TERM handlers and ends the
// container long before docker's 10 s, with the status the README gives.
func TestStop(t *testing.T) {
	need(t)
	t.Parallel()
	for _, tt := range []struct {
		name, base string
		cmd        []string
		want       int
	}{
		{"debian/no CMD", "debian", nil, 0},
		{"busybox/no CMD", "busybox", nil, 0},
		{"debian/CMD", "debian", []string{"sleep", "1000"}, 143},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := fixtureImage(t, tt.base, markerFixture)
			vol := newVolume(t)
			c := newContainer(t)
			c.start(vol.mount(), img, tt.cmd...)
			c.waitFor("service marker", func() bool { return vol.has("svc") })
			if took := c.stop(); took > stopMax {
				t.Errorf("docker stop took %v, want < %v\n--- logs\n%s", took, stopMax, c.logs())
			}
			if got := vol.read("term"); got != "stopped\n" {
				t.Errorf("the service's TERM trap left %q, want %q", got, "stopped\n")
			}
			c.wantExited(tt.want)
			wantContains(t, "docker logs", c.logs(), "[supervisor/finalize] Sending all processes the kill signal and exiting")
		})
	}
}

// stubbornFixture's service ignores SIGTERM: only SIGKILL ends it.
var stubbornFixture = fixture{
	name: "stubborn",
	files: map[string]string{
		"etc/ignity/services/stubborn/run": `#!/bin/sh
trap '' TERM
echo up >/data/up
while :; do sleep 1; done
`,
	},
}

// TestStopStubbornService: a service that ignores SIGTERM is killed after
// IGNITY_SERVICES_GRACETIME and the rest after IGNITY_KILL_GRACETIME, so
// even a long docker stop -t returns within those bounds, and the
// container exits on its own, not by docker's SIGKILL (137).
func TestStopStubbornService(t *testing.T) {
	need(t)
	t.Parallel()
	img := fixtureImage(t, "debian", stubbornFixture)
	vol := newVolume(t)
	c := newContainer(t)
	c.start(append([]string{"-e", "IGNITY_SERVICES_GRACETIME=1000", "-e", "IGNITY_KILL_GRACETIME=500"}, vol.mount()...), img)
	c.waitFor("service marker", func() bool { return vol.has("up") })
	// 1 s + 0.5 s of grace, plus docker's own overhead.
	const max = 3 * time.Second
	if took := c.stop("-t", "30"); took > max {
		t.Errorf("docker stop -t 30 took %v, want < %v (IGNITY_SERVICES_GRACETIME=1000, IGNITY_KILL_GRACETIME=500)\n--- logs\n%s", took, max, c.logs())
	}
	c.wantExited(0)
}

// TestReadOnlyRoot: with docker run --read-only, a tmpfs at /run/ignity is
// all ignity needs, noexec (--tmpfs's default) or not; without it the
// container fails at once, saying what to do.
func TestReadOnlyRoot(t *testing.T) {
	need(t)
	t.Parallel()
	for _, tt := range []struct {
		name, tmpfs, warning string
	}{
		{"tmpfs noexec", "/run/ignity", "/run/ignity is mounted noexec"},
		{"tmpfs exec", "/run/ignity:exec", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := fixtureImage(t, "debian", markerFixture)
			vol := newVolume(t)
			c := newContainer(t)
			c.start(append([]string{"--read-only", "--tmpfs", tt.tmpfs}, vol.mount()...), img)
			c.waitFor("service marker", func() bool { return vol.has("svc") })
			if took := c.stop(); took > stopMax {
				t.Errorf("docker stop took %v, want < %v", took, stopMax)
			}
			if got := vol.read("term"); got != "stopped\n" {
				t.Errorf("the service's TERM trap left %q, want %q", got, "stopped\n")
			}
			c.wantExited(0)
			logs := c.logs()
			if tt.warning != "" {
				wantContains(t, "docker logs", logs, tt.warning)
			}
			if strings.Contains(logs, "ignity: error") {
				t.Errorf("errors in the log\n%s", logs)
			}
		})
	}
	t.Run("no tmpfs", func(t *testing.T) {
		t.Parallel()
		img := ignityImage(t, "debian")
		res := newContainer(t).run(nil, []string{"--rm", "--read-only"}, img, "true")
		wantCode(t, res, 111)
		wantContains(t, "docker run's stderr", res.Stderr, "--tmpfs /run/ignity")
	})
}

// TestDockerInit: under docker run --init, Docker's tini is PID 1 and
// ignity its child; ignity still boots, runs the services and the CMD, and
// stops cleanly when tini forwards docker stop's SIGTERM.
func TestDockerInit(t *testing.T) {
	need(t)
	t.Parallel()
	t.Run("CMD", func(t *testing.T) {
		t.Parallel()
		img := fixtureImage(t, "debian", markerFixture)
		vol := newVolume(t)
		res := newContainer(t).run(nil, append([]string{"--rm", "--init"}, vol.mount()...), img,
			"sh", "-c", `cat /proc/1/comm; until [ -e /data/svc ]; do sleep 0.05; done; exit 3`)
		wantCode(t, res, 3)
		if got := strings.TrimSpace(res.Stdout); got != "docker-init" {
			t.Fatalf("PID 1 is %q, want docker-init\n%s", got, res)
		}
		wantContains(t, "docker run's stderr", res.Stderr, "not PID 1")
	})
	t.Run("stop", func(t *testing.T) {
		t.Parallel()
		img := fixtureImage(t, "debian", markerFixture)
		vol := newVolume(t)
		c := newContainer(t)
		c.start(append([]string{"--init"}, vol.mount()...), img)
		c.waitFor("service marker", func() bool { return vol.has("svc") })
		if took := c.stop(); took > stopMax {
			t.Errorf("docker stop took %v, want < %v\n--- logs\n%s", took, stopMax, c.logs())
		}
		if got := vol.read("term"); got != "stopped\n" {
			t.Errorf("the service's TERM trap left %q, want %q", got, "stopped\n")
		}
		c.wantExited(0)
	})
}

// restartFixture leaves a file in /run/ignity from an init script and from
// a service, and records on the volume, at each boot, whether it found
// any left from the boot before.
var restartFixture = fixture{
	name: "restart",
	files: map[string]string{
		"etc/ignity/init/10-check": `#!/bin/sh
if ls /run/ignity/left-by-* >/dev/null 2>&1; then echo dirty; else echo clean; fi >>/data/boots
touch /run/ignity/left-by-init
`,
		"etc/ignity/services/restart/run": `#!/bin/sh
touch /run/ignity/left-by-service
echo started >>/data/runs
exec sleep 1000
`,
	},
}

// TestRestart: docker restart keeps the container's filesystem, but the
// second boot starts from a clean /run/ignity and runs the services again.
func TestRestart(t *testing.T) {
	need(t)
	t.Parallel()
	img := fixtureImage(t, "debian", restartFixture)
	vol := newVolume(t)
	c := newContainer(t)
	c.start(vol.mount(), img)
	c.waitFor("first run of the service", func() bool { return vol.read("runs") == "started\n" })
	if res := c.do("restart"); res.Code != 0 {
		t.Fatalf("docker restart:\n%s", res)
	}
	c.waitFor("second run of the service", func() bool { return vol.read("runs") == "started\nstarted\n" })
	if got := vol.read("boots"); got != "clean\nclean\n" {
		t.Fatalf("the init script found %q at each boot, want %q (a file left in /run/ignity survived the restart)\n--- logs\n%s",
			got, "clean\nclean\n", c.logs())
	}
	c.stop()
	c.wantExited(0)
}
