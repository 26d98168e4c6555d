package docker_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestExitStatus checks the README's exit status table for a CMD:
// docker run's status is the CMD's, 128+n when it died of signal n.
func TestExitStatus(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		for _, tt := range []struct {
			name string
			cmd  []string
			want int
		}{
			{"true", []string{"true"}, 0},
			{"exit 42", []string{"sh", "-c", "exit 42"}, 42},
			{"SIGKILL", []string{"sh", "-c", "kill -KILL $$"}, 137},
			{"SIGTERM", []string{"sh", "-c", "kill -TERM $$"}, 143},
			{"not found", []string{"no-such-program"}, 127},
		} {
			t.Run(base+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				img := ignityImage(t, base)
				res := newContainer(t).run(nil, []string{"--rm"}, img, tt.cmd...)
				wantCode(t, res, tt.want)
				wantContains(t, "docker run's stderr", res.Stderr, fmt.Sprintf("exited %d\n", tt.want))
			})
		}
	}
}

// TestStdin: docker run -i hands the container's stdin to the CMD, all of
// it, and the CMD's stdout is the container's.
func TestStdin(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			img := ignityImage(t, base)
			in := "first line\nsecond line, then no newline"
			res := newContainer(t).run(strings.NewReader(in), []string{"-i", "--rm"}, img, "cat")
			wantCode(t, res, 0)
			if res.Stdout != in {
				t.Fatalf("cat printed %q, want %q\n%s", res.Stdout, in, res)
			}
		})
	}
}

// TestTerminalInterrupt drives docker run -it from a terminal, as a user
// at a shell would: Ctrl-C reaches the CMD as SIGINT (the CMD's process
// group owns the container's terminal), and the CMD's trap decides how
// the container ends.
func TestTerminalInterrupt(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			img := ignityImage(t, base)
			vol := newVolume(t)
			c := newContainer(t)
			p, err := openPty()
			if err != nil {
				t.Fatalf("open a pseudo-terminal: %v", err)
			}
			defer p.close()
			script := `trap 'echo interrupted >/data/marker; exit 7' INT; echo ready; while :; do sleep 1; done`
			cmd := exec.Command("docker", c.runArgs(append([]string{"-it"}, vol.mount()...), img, []string{"sh", "-c", script})...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
			cmd.SysProcAttr = p.attr()
			if err := cmd.Start(); err != nil {
				t.Fatalf("start docker run -it: %v", err)
			}
			p.started()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			defer func() {
				cmd.Process.Kill()
				<-done
			}()

			if !p.waitOutput("ready", bootTimeout) {
				t.Fatalf("the CMD did not print ready within %v\n--- terminal\n%s", bootTimeout, p.output())
			}
			if _, err := p.master.Write([]byte{0x03}); err != nil { // Ctrl-C
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(cmdTimeout):
				t.Fatalf("docker run -it still runs %v after Ctrl-C\n--- terminal\n%s", cmdTimeout, p.output())
			}
			if code := cmd.ProcessState.ExitCode(); code != 7 {
				t.Fatalf("docker run -it exited %d after Ctrl-C, want 7 (the CMD's INT trap)\n--- terminal\n%s", code, p.output())
			}
			if got := vol.read("marker"); got != "interrupted\n" {
				t.Fatalf("marker of the CMD's INT trap is %q, want %q\n--- terminal\n%s", got, "interrupted\n", p.output())
			}
		})
	}
}

// TestSignalForwarded: docker kill -s HUP reaches the CMD, as tini and
// dumb-init forward it.
func TestSignalForwarded(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			img := ignityImage(t, base)
			c := newContainer(t)
			c.start(nil, img, "sh", "-c", `trap 'echo got-hup; exit 5' HUP; echo ready; while :; do sleep 1; done`)
			c.waitFor("ready line from the CMD", func() bool { return strings.Contains(c.logs(), "ready\n") })
			if res := c.do("kill", "-s", "HUP"); res.Code != 0 {
				t.Fatalf("docker kill -s HUP:\n%s", res)
			}
			if res := c.do("wait"); res.Code != 0 || strings.TrimSpace(res.Stdout) != "5" {
				t.Fatalf("after SIGHUP the container ended with %q, want 5 (the CMD's HUP trap)\n--- logs\n%s", strings.TrimSpace(res.Stdout), c.logs())
			}
			wantContains(t, "docker logs", c.logs(), "got-hup\n")
		})
	}
}

// envFixture sets two variables in an env file, and its service writes
// what it sees through with-env.
var envFixture = fixture{
	name: "env",
	files: map[string]string{
		"etc/ignity/envs/10-app": "FROM_FILE=file\nOVERRIDDEN=file\n",
		"etc/ignity/services/env/run": `#!/bin/sh
exec with-env sh -c 'echo "$FROM_FILE $OVERRIDDEN" >/data/.env && mv /data/.env /data/env && exec sleep 1000'
`,
	},
}

// TestEnv: docker run -e overrides /etc/ignity/envs; the CMD gets the
// merged environment, services get it through with-env.
func TestEnv(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			img := fixtureImage(t, base, envFixture)
			vol := newVolume(t)
			opts := append([]string{"--rm", "-e", "OVERRIDDEN=cli"}, vol.mount()...)
			res := newContainer(t).run(nil, opts, img, "sh", "-c",
				`echo "cmd: $FROM_FILE $OVERRIDDEN"; until [ -e /data/env ]; do sleep 0.05; done; echo "service: $(cat /data/env)"`)
			wantCode(t, res, 0)
			if want := "cmd: file cli\nservice: file cli\n"; res.Stdout != want {
				t.Fatalf("the CMD printed %q, want %q\n%s", res.Stdout, want, res)
			}
		})
	}
}
