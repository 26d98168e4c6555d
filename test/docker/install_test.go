package docker_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/test/readme"
)

// readmeDockerfile is the README's Dockerfile marked <!-- run: test -->, with the two
// rewrites the README allows: its FROM line becomes the local base from (followed by the
// run's label, so that what a failed build leaves is found), its tarball's file name the
// one under test.
func readmeDockerfile(t *testing.T, test, from string) string {
	t.Helper()
	b := readme.RunBlock(t, test)
	if b.Lang != "dockerfile" {
		t.Fatalf("%s: want a dockerfile block", b)
	}
	if n := len(fromLine.FindAllString(b.Text, -1)); n != 1 {
		t.Fatalf("%s: %d FROM lines, want one\n%s", b, n, b.Text)
	}
	return rewriteDockerfile(b.Text, from)
}

// readmeLines is the README's Dockerfile fragment marked <!-- run: test -->: lines that the
// README asks to add to an image with ignity, which a test appends to one (a fragment has no
// FROM line).
func readmeLines(t *testing.T, test string) []string {
	t.Helper()
	b := readme.RunBlock(t, test)
	if b.Lang != "dockerfile" || fromLine.MatchString(b.Text) {
		t.Fatalf("%s: want a dockerfile fragment, without FROM\n%s", b, b.Text)
	}
	return strings.Split(strings.TrimSuffix(b.Text, "\n"), "\n")
}

// rewriteDockerfile applies the README's two allowed rewrites to a Dockerfile.
func rewriteDockerfile(text, from string) string {
	text = fromLine.ReplaceAllLiteralString(text, "FROM "+from+"\n"+strings.TrimSuffix(runLabel(), "\n"))
	return tarballName.ReplaceAllLiteralString(text, filepath.Base(the.tarball))
}

// tarballContext is a build context holding the tarball under test and, when unpack, the
// tree it holds unpacked into ignity/ (the README's "copy the tree" way).
func tarballContext(unpack bool) (string, error) {
	dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
	if err != nil {
		return "", err
	}
	if err := copyFile(the.tarball, filepath.Join(dir, filepath.Base(the.tarball))); err != nil {
		return dir, err
	}
	if !unpack {
		return dir, nil
	}
	tree := filepath.Join(dir, "ignity")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return dir, err
	}
	if out, err := exec.Command("tar", "-xzf", the.tarball, "-C", tree).CombinedOutput(); err != nil {
		return dir, fmt.Errorf("unpack %s: %v\n%s", the.tarball, err, out)
	}
	return dir, nil
}

// buildText builds the Dockerfile text in a tarball context.
func buildText(text, ref string, unpack bool) error {
	dir, err := tarballContext(unpack)
	defer os.RemoveAll(dir)
	if err != nil {
		return err
	}
	return writeAndBuild(dir, text, ref)
}

// copyTreeDockerfile is the README's "copy the tree" Dockerfile on ignity-base:base.
func copyTreeDockerfile(t *testing.T, base string) string {
	return readmeDockerfile(t, "TestCopyTreeInstall", "ignity-base:"+base)
}

// copiedImage is the first half of the README's "copy the tree" way: its lines up to the
// COPY of the unpacked tree to /, before the installer runs.
func copiedImage(t *testing.T, base string) string {
	t.Helper()
	text := copyTreeDockerfile(t, base)
	i := strings.Index(text, "\nCOPY ignity/ /\n")
	if i < 0 {
		t.Fatalf("the README's copy-the-tree Dockerfile has no line \"COPY ignity/ /\"\n%s", text)
	}
	return cached(t, base+"-copied", func(ref string) error {
		return buildText(text[:i+len("\nCOPY ignity/ /\n")], ref, true)
	})
}

// copyImage is the whole of it: then the installer, and /init as entry point.
func copyImage(t *testing.T, base string) string {
	t.Helper()
	text := copyTreeDockerfile(t, base)
	return cached(t, base+"-copy", func(ref string) error { return buildText(text, ref, true) })
}

func writeAndBuild(dir, dockerfile, ref string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	return buildImage(dir, ref)
}

// TestCopyTreeInstall: the README's "copy the tree" Dockerfile: COPY of the unpacked tree
// keeps the base's layout (on Debian, /bin, /sbin and /lib stay symlinks into /usr), and the
// image the installer then finishes boots and runs the CMD.
func TestCopyTreeInstall(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			// Checked before the installer runs, with execline's eltest,
			// which needs nothing from /bin: a broken /bin has no shell.
			copied := copiedImage(t, base)
			checks := [][]string{{"-L", "/bin"}, {"-L", "/sbin"}, {"-L", "/lib"}}
			if base == "busybox" {
				checks = [][]string{{"-d", "/bin", "-a", "!", "-L", "/bin"}}
			}
			for _, test := range checks {
				res := newContainer(t).run(nil, []string{"--rm", "--entrypoint", "/usr/lib/execline/bin/eltest"}, copied, test...)
				if res.Code != 0 {
					t.Errorf("COPY ignity/ / changed the layout of ignity-base:%s: `eltest %s` fails after it\n%s",
						base, strings.Join(test, " "), res)
				}
			}
			if t.Failed() {
				t.FailNow()
			}
			img := copyImage(t, base)
			res := newContainer(t).run(nil, []string{"--rm"}, img, "sh", "-c", layoutCheck(base)+"exit 42")
			wantCode(t, res, 42)
			wantContains(t, "docker run", res.Stdout+res.Stderr, "[supervisor/cmd]")
		})
	}
}

// TestAddInstall: the README's ADD Dockerfile (the project's Dockerfile does the same) keeps
// the base's layout too, and boots /init, which runs the CMD.
func TestAddInstall(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			text := readmeDockerfile(t, "TestAddInstall", "ignity-base:"+base)
			img := cached(t, base+"-readme-add", func(ref string) error { return buildText(text, ref, false) })
			res := newContainer(t).run(nil, []string{"--rm"}, img, "sh", "-c", layoutCheck(base)+"exit 42")
			wantCode(t, res, 42)
			wantContains(t, "docker run", res.Stdout+res.Stderr, "[supervisor/cmd]")
		})
	}
}

// layoutCheck is shell that fails (exit 1, saying why) when the base's
// layout changed: Debian's /bin, /sbin and /lib are symlinks (usrmerge),
// busybox's /bin a directory; /bin/execlineb runs on both.
func layoutCheck(base string) string {
	s := `for d in /bin /sbin /lib; do [ -L $d ] || { echo "$d is no longer a symlink"; exit 1; }; done; `
	if base == "busybox" {
		s = `[ -d /bin ] && [ ! -L /bin ] || { echo "/bin is no longer a directory"; exit 1; }; `
	}
	return s + `/bin/execlineb -Pc 'exit 0' || { echo "/bin/execlineb does not run"; exit 1; }; `
}
