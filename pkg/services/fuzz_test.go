package services

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDependencies: a dependencies file never makes Load or MakePlan
// panic; every name read is one word without '#' or '/', each problem
// names the file and a line of it.
func FuzzDependencies(f *testing.F) {
	for _, s := range []string{"db\n", "# comment\n\ndb # the database\ncache\n", "a b\n", "web/x\n", "self\n", "\x00\n#\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, deps string) {
		root := t.TempDir()
		dir := filepath.Join(root, "etc/ignity/services/self")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "dependencies"), []byte(deps), 0o644); err != nil {
			t.Fatal(err)
		}
		d, probs := Load(root, "")
		s, ok := d.Get("self")
		if !ok {
			t.Fatalf("self not loaded: %v", probs)
		}
		for _, n := range s.Deps {
			if n == "" || strings.ContainsAny(n, " \t#/\n") {
				t.Fatalf("bad name %q read from %q", n, deps)
			}
		}
		_, more := MakePlan(d)
		lines := strings.Count(deps, "\n") + 1
		for _, p := range append(probs, more...) {
			if p.File != "/etc/ignity/services/self/dependencies" || p.Line < 0 || p.Line > lines {
				t.Fatalf("problem %v for %q", p, deps)
			}
		}
	})
}
