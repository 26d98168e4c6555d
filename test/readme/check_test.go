package readme

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

// TestCheckSample: the README's `ignity check` output sample, examples/check/output.txt, is
// what the real binary prints for examples/check/root with the environment of
// examples/check/env (and nothing else), and it exits 1.
func TestCheckSample(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ignity")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ignity-init")
	build.Dir = mod
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(mod, "examples", "check")
	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "output.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(bin, "check", "--root", filepath.Join(dir, "root"))
	c.Env = strings.Fields(string(env))
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err = c.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("ignity check --root examples/check/root: %v, want exit status 1\n%s", err, stderr.String())
	}
	if got := stdout.String(); got != string(want) {
		t.Errorf("ignity check --root examples/check/root printed\n%s\nwant examples/check/output.txt (the README's sample; update both from a real run)\n%s\n%s",
			got, want, firstDifference(got, string(want)))
	}
}
