package envload

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestReadDirUntrusted: an envdir another uid owns, one its group or
// others may write, and a symlink to an envdir are refused: /run/ignity
// may be writable by other uids, and a PATH planted there would reach
// root's finalize scripts.
func TestReadDirUntrusted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another uid")
	}
	for _, tt := range []struct {
		name  string
		spoil func(t *testing.T, dir string) string // returns the path to read
	}{
		{"another uid's", func(t *testing.T, dir string) string {
			mustDo(t, os.Chown(dir, 1000, 1000))
			return dir
		}},
		{"group-writable", func(t *testing.T, dir string) string {
			mustDo(t, os.Chmod(dir, 0o770))
			return dir
		}},
		{"a symlink", func(t *testing.T, dir string) string {
			link := dir + ".link"
			mustDo(t, os.Symlink(dir, link))
			return link
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "envs")
			if err := WriteDir(dir, []string{"PATH=/attacker"}); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadDir(dir); err != nil {
				t.Fatalf("the envdir as WriteDir left it: %v", err)
			}
			env, err := ReadDir(tt.spoil(t, dir))
			if !errors.Is(err, ErrUntrusted) || env != nil {
				t.Errorf("ReadDir = %q, %v; want a refusal", env, err)
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
