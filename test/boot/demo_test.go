package boot_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

// TestDemo runs `task demo`'s script on the release tarball, from the
// repository as checked out: the README's first command must keep working
// (an empty directory of examples/demo, which git does not keep, once
// broke it on clean clones).
func TestDemo(t *testing.T) {
	harness.RequireRoot(t)
	tarball := harness.Tarball(t)
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("sh", "scripts/demo.sh", tarball)
	c.Dir = mod
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"== HTTP answer from the web service: <h1>hello from an ignity service</h1>",
		"web: up", "ticker: up",
		"== the container exited with status 0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q\n%s", want, out)
		}
	}
}
