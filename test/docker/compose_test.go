package docker_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// compose runs docker-compose (v1, Debian's) on the example's file and the test's override,
// as project name, bounded by cmdTimeout.
func compose(project, override string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	file := filepath.Join(the.module, "examples", "compose", "docker-compose.yml")
	argv := append([]string{"-p", project, "-f", file, "-f", override}, args...)
	c := exec.CommandContext(ctx, "docker-compose", argv...)
	r := dockerCmd(c, nil)
	r.Args = append([]string{"docker-compose"}, r.Args...)
	return r
}

// TestCompose: examples/compose/docker-compose.yml with docker-compose: up, both services
// (ignity as PID 1, and under init: true) healthy through `ignity health` on their read-only
// root, the PHP page through the published port, then stop within the stop bound with
// status 0, and down -v. The test's override file only names the image built for the run
// and labels what compose creates; the project name carries the run id.
func TestCompose(t *testing.T) {
	need(t)
	if _, err := exec.LookPath("docker-compose"); err != nil {
		msg := "docker-compose not found (sh scripts/setup.sh installs Debian's)"
		if os.Getenv("IGNITY_REQUIRE_DOCKER") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Parallel()
	img := nginxPHP(t)
	project := "ignity-e2e-" + the.runID + "-compose"
	label := "ignity.e2e: " + the.runID
	override := filepath.Join(t.TempDir(), "override.yml")
	err := os.WriteFile(override, []byte(fmt.Sprintf(`version: "2.4"
services:
  web:
    image: %[1]s
    labels: {%[2]s}
  web-init:
    image: %[1]s
    labels: {%[2]s}
networks:
  default:
    labels: {%[2]s}
`, img, label)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if res := compose(project, override, "down", "-v", "--remove-orphans"); res.Code != 0 {
			t.Errorf("cleanup:\n%s", res)
		}
	})

	if res := compose(project, override, "up", "-d", "--no-build"); res.Code != 0 {
		t.Fatalf("up:\n%s", res)
	}
	ids := map[string]string{}
	for _, svc := range []string{"web", "web-init"} {
		res := compose(project, override, "ps", "-q", svc)
		ids[svc] = strings.TrimSpace(res.Stdout)
		if res.Code != 0 || ids[svc] == "" {
			t.Fatalf("ps -q %s:\n%s", svc, res)
		}
	}
	for svc, want := range map[string]string{"web": "s6-svscan", "web-init": "docker-init"} {
		c := &container{t: t, name: ids[svc]}
		c.waitFor(svc+" healthy", func() bool { s, _ := c.health(); return s == "healthy" })
		if got := strings.TrimSpace(c.exec(t, "cat", "/proc/1/comm")); got != want {
			t.Errorf("%s: PID 1 is %q, want %s", svc, got, want)
		}
		if got := docker(bg(), nil, "inspect", "-f", "{{.HostConfig.ReadonlyRootfs}} {{index .Config.Labels \"ignity.e2e\"}}", c.name); strings.TrimSpace(got.Stdout) != "true "+the.runID {
			t.Errorf("%s: read-only root and label: %q, want %q", svc, got.Stdout, "true "+the.runID)
		}
		port := compose(project, override, "port", svc, "8080")
		_, p, ok := strings.Cut(strings.TrimSpace(port.Stdout), ":")
		if port.Code != 0 || !ok {
			t.Fatalf("port %s 8080:\n%s", svc, port)
		}
		if body := get(t, "http://127.0.0.1:"+p+"/"); !strings.HasPrefix(body, phpGreeting) {
			t.Errorf("%s: GET / through port %s: %q, want %q...", svc, p, body, phpGreeting)
		}
	}

	stop := compose(project, override, "stop")
	if stop.Code != 0 {
		t.Fatalf("stop:\n%s", stop)
	}
	// Both containers stop at once; ignity's stop bound with the defaults is 8 s, compose's
	// stop_grace_period 15 s.
	if stop.Elapsed > stopMax {
		t.Errorf("docker-compose stop took %v, want < %v", stop.Elapsed, stopMax)
	}
	for svc, id := range ids {
		c := &container{t: t, name: id}
		c.wantExited(0)
		if logs := c.logs(); strings.Contains(logs, "ignity: error") {
			t.Errorf("%s: errors in the log\n%s", svc, logs)
		}
	}
	if res := compose(project, override, "down", "-v"); res.Code != 0 {
		t.Fatalf("down -v:\n%s", res)
	}
	left := docker(bg(), nil, "ps", "-aq", "--filter", "label=com.docker.compose.project="+project)
	if strings.TrimSpace(left.Stdout) != "" {
		t.Errorf("containers left after down -v: %s", left.Stdout)
	}
}

// get fetches url from the host, bounded; "" when it fails.
func get(t *testing.T, url string) string {
	t.Helper()
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Logf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
