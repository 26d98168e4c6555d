package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/layout"
)

// TestVersionNamesBuild builds the binary the way scripts/package.sh does,
// with the version and the commit set by -ldflags, and checks that
// --version names both and the architecture, as a release tarball's name
// does (x86_64, aarch64). Outside a release there is no MANIFEST: the
// skaware line says so instead of failing.
func TestVersionNamesBuild(t *testing.T) {
	if _, err := os.Stat(layout.Manifest); err == nil {
		t.Skipf("%s exists on this machine: the skaware line would read it", layout.Manifest)
	}
	// go test puts the toolchain's bin first on PATH: "go" is the go that runs this test.
	goTool := "go"
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	if arch == "" {
		arch = runtime.GOARCH
	}
	tests := []struct {
		name    string
		ldflags string
		want    string
	}{
		{"release", "-X main.version=9.8.7 -X main.commit=abc1234", "ignity 9.8.7 (commit abc1234, " + arch + ")\n"},
		{"plain go build", "", "ignity dev (commit unknown, " + arch + ")\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "ignity")
			build := exec.Command(goTool, "build", "-ldflags", tt.ldflags, "-o", bin, ".")
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			out, err := exec.Command(bin, "--version").Output()
			if err != nil {
				t.Fatalf("ignity --version: %v\n%s", err, out)
			}
			first, rest, _ := strings.Cut(string(out), "\n")
			if first+"\n" != tt.want {
				t.Errorf("first line %q, want %q", first+"\n", tt.want)
			}
			if !strings.HasPrefix(rest, "skaware: unknown (") || !strings.Contains(rest, layout.Manifest) {
				t.Errorf("without %s, want a line \"skaware: unknown (...)\" naming it; got %q", layout.Manifest, rest)
			}
		})
	}
}
