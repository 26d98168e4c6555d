package docker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ignity/ignity/test/readme"
)

// curlComment is what the Quick start says curl prints.
var curlComment = regexp.MustCompile(`(?m)^curl [^#\n]*# (.+)$`)

// TestQuickStart runs the README's Quick start block with sh, in a temporary tree holding
// dist/ with the tarball under test and a copy of examples/nginx-php whose Dockerfile has the
// README's two rewrites (FROM the local web base, the tarball's name). The block itself gets
// only the names the README says: the image, the container and the host port are this run's,
// and docker run labels the container with the run. curl prints what its comment says,
// docker stop ends it with status 0, and docker logs prints the README's log sample.
func TestQuickStart(t *testing.T) {
	need(t)
	t.Parallel()
	b := readme.RunBlock(t, "TestQuickStart")
	want := curlComment.FindStringSubmatch(b.Text)
	if want == nil {
		t.Fatalf("%s: no curl line with a comment saying what it prints\n%s", b, b.Text)
	}

	dir := t.TempDir()
	tb := filepath.Base(the.tarball)
	if err := os.Mkdir(filepath.Join(dir, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(the.tarball, filepath.Join(dir, "dist", tb)); err != nil {
		t.Fatal(err)
	}
	example := filepath.Join(dir, "examples", "nginx-php")
	if err := os.CopyFS(example, os.DirFS(filepath.Join(the.module, "examples", "nginx-php"))); err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(example, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(example, "Dockerfile"), []byte(rewriteDockerfile(string(df), "ignity-base:"+webBase)), 0o644); err != nil {
		t.Fatal(err)
	}

	ref := "ignity-e2e-" + the.runID + ":quickstart"
	images.Lock()
	images.built = append(images.built, ref) // removed when the run ends
	images.Unlock()
	ctr := fmt.Sprintf("ignity-e2e-%s-quickstart-%d", the.runID, containerSeq.Add(1))
	t.Cleanup(func() { docker(bg(), nil, "rm", "-f", "-v", ctr) })
	port := freePort(t)
	script := tarballName.ReplaceAllLiteralString(b.Text, tb)
	for _, r := range [][2]string{
		{"docker build -t nginx-php ", "docker build -t " + ref + " "},
		{"docker run -d ", "docker run -d --pull=never --label ignity.e2e=" + the.runID + " "},
		{"--name web ", "--name " + ctr + " "},
		{"-p 8080:8080 nginx-php\n", "-p " + port + ":8080 " + ref + "\n"},
		{"localhost:8080/", "localhost:" + port + "/"},
		{"docker stop web ", "docker stop " + ctr + " "},
		{"docker logs web\n", "docker logs " + ctr + "\n"},
	} {
		if n := strings.Count(script, r[0]); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want once (the test rewrites it)\n%s", b, r[0], n, b.Text)
		}
		script = strings.Replace(script, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "quickstart.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout+cmdTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-ex", "quickstart.sh")
	c.Dir = dir
	res := dockerCmd(c, nil) // its environment: DOCKER_BUILDKIT=0, as every build of the tier
	if res.Code != 0 {
		t.Fatalf("the Quick start failed\n%s", res)
	}
	if got := mask(res.Stdout); !strings.Contains(got, mask(want[1])) {
		t.Errorf("curl did not print %q (numbers masked) as the README says\n%s", want[1], res)
	}
	status := docker(bg(), nil, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", ctr)
	if got := strings.TrimSpace(status.Stdout); got != "exited 0" {
		t.Errorf("after docker stop the container is %q, want \"exited 0\"\n%s", got, status)
	}
	wantSample(t, res.Stdout+res.Stderr, "nginx-php-run.txt")
}

// freePort is a TCP port of the host that nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}
