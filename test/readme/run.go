package readme

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/modroot"
)

// This file stays stdlib-only, as the rest of the package: examples/kubernetes, a module of its
// own, imports it.

// Files lists the Markdown files whose blocks are checked, relative to the module root mod:
// README.md, HACKING.md, then every .md file under docs/, in name order.
func Files(mod string) ([]string, error) {
	files := []string{"README.md", "HACKING.md"}
	err := filepath.WalkDir(filepath.Join(mod, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(mod, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// File reads README.md and the pages of docs/ at the module root and returns their blocks,
// each naming its file; it fails t when one cannot be read or its markers have problems.
func File(t testing.TB) []Block {
	t.Helper()
	mod, err := modroot.Find()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(mod)
	if err != nil {
		t.Fatal(err)
	}
	var all []Block
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join(mod, f))
		if err != nil {
			t.Fatal(err)
		}
		blocks, problems := Parse(string(text))
		if len(problems) > 0 {
			t.Fatalf("%s: %s", f, strings.Join(problems, "; "))
		}
		for i := range blocks {
			blocks[i].File = f
		}
		all = append(all, blocks...)
	}
	return all
}

// RunBlocks returns the blocks of README.md and docs/ marked <!-- run: name -->, in their
// order, so that the test called name runs the documentation's own text rather than a copy. It fails t when
// there is none: a test that runs README text must find it.
func RunBlocks(t testing.TB, name string) []Block {
	t.Helper()
	var out []Block
	for _, b := range File(t) {
		if b.Kind == Run && b.Arg == name {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("neither README.md nor docs/ has a block marked <!-- run: %s -->", name)
	}
	return out
}

// RunBlock is the one block marked <!-- run: name -->; it fails t unless there is exactly one.
func RunBlock(t testing.TB, name string) Block {
	t.Helper()
	bs := RunBlocks(t, name)
	if len(bs) != 1 {
		t.Fatalf("README.md and docs/ have %d blocks marked <!-- run: %s -->, want one", len(bs), name)
	}
	return bs[0]
}

// testFunc is a test's declaration in a Go source.
var testFunc = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]*)\(`)

// testNames returns the names of the Test functions declared in the _test.go files under mod
// (every module of the repository, vendored or hidden directories aside).
func testNames(mod string) (map[string]bool, error) {
	names := map[string]bool{}
	err := filepath.WalkDir(mod, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != mod && (strings.HasPrefix(d.Name(), ".") || d.Name() == "vendor" || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
		return nil
	})
	return names, err
}

// checkRunNames returns a problem for each run: block whose test (the part before a "/", a
// subtest's name) is not declared in names.
func checkRunNames(blocks []Block, names map[string]bool) []string {
	var problems []string
	for _, b := range blocks {
		if b.Kind != Run {
			continue
		}
		name, _, _ := strings.Cut(b.Arg, "/")
		if !names[name] {
			problems = append(problems, fmt.Sprintf("%s: no test declares func %s( in a _test.go file", b, name))
		}
	}
	return problems
}
