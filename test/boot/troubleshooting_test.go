package boot_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/boottest"
	"github.com/ignity/ignity/internal/harness"
	shellquote "github.com/kballard/go-shellquote"
)

// The README's Troubleshooting section: each entry is a fixture under
// examples/troubleshooting/NAME: root/ (copied into the image), boot (how
// it is booted: "cmd ARGV", "env NAME=value", "user UID[:GID]",
// "readonly", "tmpfs PATH[:OPTS]", "exit N") and message, the lines the
// README quotes, each of which the boot must print.
func TestTroubleshooting(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mod, "examples", "troubleshooting")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 10 {
		t.Fatalf("%s: %d entries, the README promises ten", dir, len(entries))
	}
	for _, e := range entries {
		fixture := filepath.Join(dir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			o, argv, exit := troubleBoot(t, filepath.Join(fixture, "boot"))
			message, err := os.ReadFile(filepath.Join(fixture, "message"))
			if err != nil {
				t.Fatal(err)
			}
			boottest.OnBases(t, func(t *testing.T, r *harness.Root) {
				copyInto(t, r, filepath.Join(fixture, "root"))
				res := r.Boot(t, o, argv...)
				if os.Getenv("IGNITY_TROUBLE_SHOW") == "1" {
					t.Logf("%s", res)
				}
				boottest.WantExit(t, res, exit)
				for _, line := range strings.Split(strings.TrimRight(string(message), "\n"), "\n") {
					if !strings.Contains(res.Output, line) {
						t.Errorf("%s/message: the boot did not print\n  %s\n%s", e.Name(), line, res)
					}
				}
			})
		})
	}
}

// troubleBoot reads a fixture's boot file.
func troubleBoot(t *testing.T, path string) (harness.Options, []string, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	o := harness.Options{Timeout: boottest.Short}
	var env []string
	var argv []string
	exit := -1
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "cmd":
			if argv, err = shellquote.Split(val); err != nil {
				t.Fatalf("%s:%d: %v", path, i+1, err)
			}
		case "env":
			env = append(env, val)
		case "user":
			o.User = val
		case "readonly":
			o.ReadOnly = true
		case "tmpfs":
			o.Tmpfs = append(o.Tmpfs, val)
		case "exit":
			if exit, err = strconv.Atoi(val); err != nil {
				t.Fatalf("%s:%d: want exit N: %v", path, i+1, err)
			}
		default:
			t.Fatalf("%s:%d: unknown key %q (want cmd, env, user, readonly, tmpfs or exit)", path, i+1, key)
		}
	}
	if len(argv) == 0 || exit < 0 {
		t.Fatalf("%s: want a cmd line and an exit line", path)
	}
	o.Env = boottest.Env(env...)
	return o, append([]string{"/init"}, argv...), exit
}

// copyInto copies the tree src (when it exists) into the root, modes kept.
func copyInto(t *testing.T, r *harness.Root, src string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		r.WriteFile(t, "/"+rel, info.Mode().Perm(), string(b))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}
