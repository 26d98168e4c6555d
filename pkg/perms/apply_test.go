package perms

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestEnsureRunDir: preboot makes /run/ignity, 0775 whatever the umask,
// where it is missing, and leaves an existing one alone.
func TestEnsureRunDir(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "run", "ignity")
	if err := ensureRunDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o775 {
		t.Fatalf("%s: %v, %v; want mode 0775", dir, fi, err)
	}
	os.Chmod(dir, 0o700)
	if err := ensureRunDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("an existing dir was changed to %v", fi.Mode())
	}
}
