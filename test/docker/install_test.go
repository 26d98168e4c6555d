package docker_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// copiedImage is the first half of the README's "copy the tree" way: the
// tarball unpacked into the build context and COPY'd to /.
func copiedImage(t *testing.T, base string) string {
	t.Helper()
	return cached(t, base+"-copied", func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		tree := filepath.Join(dir, "ignity")
		if err := os.Mkdir(tree, 0o755); err != nil {
			return err
		}
		if out, err := exec.Command("tar", "-xzf", the.tarball, "-C", tree).CombinedOutput(); err != nil {
			return fmt.Errorf("unpack %s: %v\n%s", the.tarball, err, out)
		}
		df := "FROM ignity-base:" + base + "\n" + runLabel() + "COPY ignity/ /\n"
		return writeAndBuild(dir, df, ref)
	})
}

// copyImage is the second half: the installer, and /init as entry point.
func copyImage(t *testing.T, base string) string {
	t.Helper()
	from := copiedImage(t, base)
	return cached(t, base+"-copy", func(ref string) error {
		dir, err := os.MkdirTemp("", "ignity-e2e-ctx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		df := "FROM " + from + "\n" + runLabel() +
			"RUN [\"/bin/sh\", \"/usr/src/install-ignity.sh\"]\n" +
			"ENTRYPOINT [\"/init\"]\n"
		return writeAndBuild(dir, df, ref)
	})
}

func writeAndBuild(dir, dockerfile, ref string) error {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	return buildImage(dir, ref)
}

// TestCopyTreeInstall: COPY of the unpacked tree keeps the base's layout
// (on Debian, /bin, /sbin and /lib stay symlinks into /usr), and the image
// the installer then finishes boots and runs the CMD.
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
		})
	}
}

// TestAddInstall: the project's Dockerfile (ADD of the tarball) keeps the
// base's layout too.
func TestAddInstall(t *testing.T) {
	need(t)
	t.Parallel()
	for _, base := range bases {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			img := ignityImage(t, base)
			res := newContainer(t).run(nil, []string{"--rm"}, img, "sh", "-c", layoutCheck(base)+"exit 42")
			wantCode(t, res, 42)
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
