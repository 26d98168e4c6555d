package readme

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ignity/ignity/internal/harness"
)

// check returns the problems of the blocks of a README at the module root mod: a fixture or
// golden file that is missing or differs from its block, a json block that does not decode,
// and, when strict, every unchecked block.
func check(mod string, blocks []Block, strict bool) []string {
	var problems []string
	for _, b := range blocks {
		switch b.Kind {
		case Example, Output:
			if filepath.IsAbs(b.Arg) || strings.Contains(b.Arg, "..") {
				problems = append(problems, fmt.Sprintf("%s: want a path inside the repository", b))
				continue
			}
			want, err := os.ReadFile(filepath.Join(mod, b.Arg))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", b, err))
				continue
			}
			if string(want) != b.Text {
				problems = append(problems, fmt.Sprintf("%s: the block differs from %s (the README includes it verbatim: copy the file into the block)\n%s",
					b, b.Arg, firstDifference(b.Text, string(want))))
			}
		case JSON:
			var v any
			if err := json.Unmarshal([]byte(b.Text), &v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: does not decode: %v", b, err))
			}
		case Unchecked:
			if strict {
				problems = append(problems, fmt.Sprintf("%s: no test checks it: include a fixture (<!-- example: PATH -->), mark it <!-- output: PATH -->, <!-- exempt: WHY --> or <!-- run: TEST -->", b))
			}
		}
	}
	return problems
}

// firstDifference shows the first line where the README's block and the file part.
func firstDifference(block, file string) string {
	a, b := strings.Split(block, "\n"), strings.Split(file, "\n")
	for i := 0; i < max(len(a), len(b)); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y || i >= len(a) || i >= len(b) {
			return fmt.Sprintf("  block line %d: %q\n  file  line %d: %q", i+1, x, i+1, y)
		}
	}
	return ""
}

// TestREADME: every marked block of README.md is its file verbatim, every json block
// decodes, every run: block names a test that exists, and no block is unchecked (each one
// listed, and with IGNITY_README_EXTRACT=DIR written to DIR as L<line><ext>).
func TestREADME(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(mod, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, problems := Parse(string(text))
	if len(blocks) == 0 {
		t.Fatal("README.md: no fenced blocks found")
	}
	problems = append(problems, check(mod, blocks, true)...)
	names, err := testNames(mod)
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, checkRunNames(blocks, names)...)
	for _, p := range problems {
		t.Errorf("README.md %s", p)
	}
	counts := map[Kind]int{}
	dir := os.Getenv("IGNITY_README_EXTRACT")
	for _, b := range blocks {
		counts[b.Kind]++
		if b.Kind != Unchecked {
			continue
		}
		t.Logf("README.md %s", b)
		if dir != "" {
			name := filepath.Join(dir, fmt.Sprintf("L%d%s", b.Line, Ext(b.Lang)))
			if err := os.WriteFile(name, []byte(b.Text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("README.md: %d blocks: %d example, %d output, %d exempt, %d run, %d yaml, %d json, %d unchecked",
		len(blocks), counts[Example], counts[Output], counts[Exempt], counts[Run], counts[YAML], counts[JSON], counts[Unchecked])
	// The examples the README promises to include.
	for _, f := range []string{"examples/nginx-php/Dockerfile", "examples/compose/docker-compose.yml", "examples/kubernetes/deployment.yaml"} {
		found := false
		for _, b := range blocks {
			found = found || (b.Kind == Example && b.Arg == f)
		}
		if !found {
			t.Errorf("README.md does not include %s (<!-- example: %s --> before a fenced block)", f, f)
		}
	}
}

// TestCheck: the checker itself, on small READMEs next to real files.
func TestCheck(t *testing.T) {
	mod := t.TempDir()
	if err := os.MkdirAll(filepath.Join(mod, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "examples", "Dockerfile"), []byte("FROM x\nENTRYPOINT [\"/init\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fixture := "<!-- example: examples/Dockerfile -->\n```dockerfile\nFROM x\nENTRYPOINT [\"/init\"]\n```\n"
	for _, tt := range []struct {
		name, readme string
		strict       bool
		want         string // a problem containing it; "" for none
	}{
		{"fixture verbatim", fixture, true, ""},
		{"fixture drifted", strings.Replace(fixture, "FROM x", "FROM y", 1), false, `differs from examples/Dockerfile`},
		{"fixture line added", strings.Replace(fixture, "```\n", "RUN true\n```\n", 2), false, "differs"},
		{"fixture missing", strings.Replace(fixture, "examples/Dockerfile", "examples/nope", 1), false, "no such file"},
		{"path outside", strings.Replace(fixture, "examples/Dockerfile", "../etc/passwd", 1), false, "inside the repository"},
		{"marker without block", "<!-- example: examples/Dockerfile -->\ntext\n", false, "not followed by a fenced block"},
		{"marker without argument", "<!-- example: -->\n```sh\nls\n```\n", false, "needs an argument"},
		{"bad json", "```json\n{\"a\": }\n```\n", false, "does not decode"},
		{"good json", "```json\n{\"a\": 1}\n```\n", true, ""},
		{"unchecked, lax", "```sh\necho hi\n```\n", false, ""},
		{"unchecked, strict", "```sh\necho hi\n```\n", true, "no test checks it"},
		{"exempt, strict", "<!-- exempt: development -->\n```sh\ntask test\n```\n", true, ""},
		{"yaml, strict", "```yaml\na: 1\n```\n", true, ""},
		{"run, test exists", "<!-- run: TestThere -->\n```sh\necho hi\n```\n", true, ""},
		{"run, subtest of a test that exists", "<!-- run: TestThere/debian -->\n```sh\necho hi\n```\n", true, ""},
		{"run, no such test", "<!-- run: TestGone -->\n```sh\necho hi\n```\n", true, "no test declares func TestGone("},
		{"unclosed", "```sh\necho hi\n", false, "never closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			blocks, problems := Parse(tt.readme)
			problems = append(problems, check(mod, blocks, tt.strict)...)
			problems = append(problems, checkRunNames(blocks, map[string]bool{"TestThere": true})...)
			got := strings.Join(problems, "\n")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

// TestREADMELinks: every in-page link of README.md names one of its headings, and the
// headings the user guide promises are there, spelt exactly.
func TestREADMELinks(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(mod, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors, links := Headings(string(text))
	for _, l := range links {
		if !anchors[l.Anchor] {
			t.Errorf("README.md:%d: link to #%s: no heading has that anchor", l.Line, l.Anchor)
		}
	}
	for _, h := range []string{"## Quick start", "## Kubernetes", "## Migrating from s6-overlay", "## Troubleshooting"} {
		if !strings.Contains("\n"+string(text), "\n"+h+"\n") {
			t.Errorf("README.md: no heading %q", h)
		}
	}
}

func TestSlug(t *testing.T) {
	for title, want := range map[string]string{
		"Checking an image: `ignity check`": "checking-an-image-ignity-check",
		"The CMD's stop signal":             "the-cmds-stop-signal",
		"Env files, perms and init scripts": "env-files-perms-and-init-scripts",
		"Migrating from s6-overlay":         "migrating-from-s6-overlay",
	} {
		if got := Slug(title); got != want {
			t.Errorf("Slug(%q) = %q, want %q", title, got, want)
		}
	}
	anchors, links := Headings("# A b\n```\n# not a heading\n[x](#inside)\n```\nsee [it](#a-b)\n")
	if !anchors["a-b"] || anchors["not-a-heading"] || len(links) != 1 || links[0] != (Link{6, "a-b"}) {
		t.Errorf("Headings = %v, %v", anchors, links)
	}
}

// TestTestNames: the test names found in this module's sources include this very test, and
// RunBlocks' lookup of the declarations works on real files.
func TestTestNames(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	names, err := testNames(mod)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TestTestNames", "TestREADME", "TestUsermap"} {
		if !names[want] {
			t.Errorf("testNames does not find %s", want)
		}
	}
	if names["TestNoSuchThing"] {
		t.Error("testNames finds a test nobody declares")
	}
}
