package modroot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindFromPackageDir(t *testing.T) {
	dir, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("Find gave %s, without a go.mod: %v", dir, err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(dir, "internal", "modroot"); wd != want {
		t.Errorf("Find gave %s; the package dir %s is not internal/modroot below it", dir, wd)
	}
}

func TestFindOutsideAModule(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Find()
	if err == nil || !strings.Contains(err.Error(), "no go.mod") {
		t.Fatalf("Find outside a module: %v, want a no go.mod error", err)
	}
}
