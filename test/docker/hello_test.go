package docker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/test/readme"
)

// TestReadmeFirstImage runs the README's first image (examples/hello) as the README's block
// says, with sh, in a temporary tree holding dist/ and examples/hello/ as the README assumes,
// after the README's two rewrites (FROM the local Debian base, the tarball's name); the block
// gets only this run's image name and label. The run must exit 0 (the CMD's status) and
// print every line of the README's output sample, test/docker/testdata/hello-run.txt.
func TestReadmeFirstImage(t *testing.T) {
	need(t)
	t.Parallel()
	b := readme.RunBlock(t, "TestReadmeFirstImage")
	dir := t.TempDir()
	tb := filepath.Base(the.tarball)
	if err := os.Mkdir(filepath.Join(dir, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(the.tarball, filepath.Join(dir, "dist", tb)); err != nil {
		t.Fatal(err)
	}
	example := filepath.Join(dir, "examples", "hello")
	if err := os.CopyFS(example, os.DirFS(filepath.Join(the.module, "examples", "hello"))); err != nil {
		t.Fatal(err)
	}
	df, err := os.ReadFile(filepath.Join(example, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(example, "Dockerfile"), []byte(rewriteDockerfile(string(df), "ignity-base:debian")), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "ignity-e2e-" + the.runID + ":hello"
	images.Lock()
	images.built = append(images.built, ref) // removed when the run ends
	images.Unlock()
	script := tarballName.ReplaceAllLiteralString(b.Text, tb)
	for _, r := range [][2]string{
		{"docker build -t hello ", "docker build -t " + ref + " "},
		{"docker run --rm hello\n", "docker run --rm --pull=never --label ignity.e2e=" + the.runID + " " + ref + "\n"},
	} {
		if n := strings.Count(script, r[0]); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want once (the test rewrites it)\n%s", b, r[0], n, b.Text)
		}
		script = strings.Replace(script, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout+cmdTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-ex", "hello.sh")
	c.Dir = dir
	res := dockerCmd(c, nil)
	if res.Code != 0 {
		t.Fatalf("the README's first image: exit status %d, want 0 (the CMD's)\n%s", res.Code, res)
	}
	if os.Getenv("IGNITY_HELLO_SHOW") == "1" {
		fmt.Println(res.Stdout + res.Stderr)
	}
	wantSample(t, res.Stdout+res.Stderr, "hello-run.txt")
}
