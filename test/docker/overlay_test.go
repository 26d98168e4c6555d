package docker_test

import (
	"testing"
)

// overlayFixture is an s6-overlay v2 image's own part, unchanged: a
// cont-init.d script setting a variable in /run/s6/container_environment,
// a service reading it through #!/command/with-contenv, and a cont-finish.d
// script that drains at docker stop.
var overlayFixture = fixture{
	name: "overlay",
	files: map[string]string{
		"etc/cont-init.d/10-greeting": `#!/command/with-contenv sh
printf hello > /run/s6/container_environment/GREETING
`,
		"etc/ignity/services/app/run": `#!/command/with-contenv sh
echo "$GREETING" >/data/.svc && mv /data/.svc /data/svc
exec sleep 1000
`,
		"etc/cont-finish.d/10-drain": `#!/usr/bin/with-contenv sh
echo "drained $GREETING" >/data/finish
`,
	},
}

// TestOverlayImageStop: an s6-overlay-layout image under docker run, then
// docker stop: the CMD dies of SIGTERM (143) and the cont-finish.d script
// ran, within the stop bound, on a writable and on a read-only root.
func TestOverlayImageStop(t *testing.T) {
	need(t)
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []string
	}{
		{"writable root", nil},
		{"read-only root", []string{"--read-only", "--tmpfs", "/run/ignity"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := fixtureImage(t, "debian", overlayFixture)
			vol := newVolume(t)
			c := newContainer(t)
			c.start(append(vol.mount(), tt.opts...), img, "sleep", "1000")
			c.waitFor("service app", func() bool { return vol.has("svc") })
			if got := vol.read("svc"); got != "hello\n" {
				t.Errorf("the service saw GREETING %q, want %q", got, "hello\n")
			}
			if took := c.stop(); took > stopMax {
				t.Errorf("docker stop took %v, want < %v\n--- logs\n%s", took, stopMax, c.logs())
			}
			c.wantExited(143)
			if got := vol.read("finish"); got != "drained hello\n" {
				t.Errorf("the cont-finish.d script left %q, want %q\n--- logs\n%s", got, "drained hello\n", c.logs())
			}
		})
	}
}
