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

// TestREADME: every marked block of README.md and of the pages of docs/ is its file
// verbatim, every json block decodes, every run: block names a test that exists, and no
// block is unchecked (each one listed, and with IGNITY_README_EXTRACT=DIR written to DIR as
// FILE-L<line><ext>, FILE the page's path with '/' as '_').
func TestREADME(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(mod)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("Files(%s) = %v: want README.md and the pages of docs/", mod, files)
	}
	names, err := testNames(mod)
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
		for i := range blocks {
			blocks[i].File = f
		}
		problems = append(problems, check(mod, blocks, true)...)
		problems = append(problems, checkRunNames(blocks, names)...)
		for _, p := range problems {
			if !strings.HasPrefix(p, f+":") {
				p = f + " " + p
			}
			t.Errorf("%s", p)
		}
		all = append(all, blocks...)
	}
	if len(all) == 0 {
		t.Fatal("README.md and docs/: no fenced blocks found")
	}
	counts := map[Kind]int{}
	dir := os.Getenv("IGNITY_README_EXTRACT")
	for _, b := range all {
		counts[b.Kind]++
		if b.Kind != Unchecked {
			continue
		}
		t.Logf("%s", b)
		if dir != "" {
			name := filepath.Join(dir, fmt.Sprintf("%s-L%d%s", strings.ReplaceAll(b.File, "/", "_"), b.Line, Ext(b.Lang)))
			if err := os.WriteFile(name, []byte(b.Text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d files, %d blocks: %d example, %d output, %d exempt, %d run, %d yaml, %d json, %d unchecked",
		len(files), len(all), counts[Example], counts[Output], counts[Exempt], counts[Run], counts[YAML], counts[JSON], counts[Unchecked])
	// The examples the documentation promises to include, and where.
	for f, page := range map[string]string{
		"examples/hello/Dockerfile":           "README.md",
		"examples/nginx-php/Dockerfile":       "docs/tutorial.md",
		"examples/compose/docker-compose.yml": "docs/howto/compose.md",
		"examples/kubernetes/deployment.yaml": "docs/howto/kubernetes.md",
	} {
		found := false
		for _, b := range all {
			found = found || (b.File == page && b.Kind == Example && b.Arg == f)
		}
		if !found {
			t.Errorf("%s does not include %s (<!-- example: %s --> before a fenced block)", page, f, f)
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

// TestREADMELinks: every link of README.md and of docs/ names a file of the repository, and a
// heading of its page when it has an #anchor (in the page itself, or in the .md file it
// names); and the headings the documentation promises are there, spelt exactly, on their pages.
func TestREADMELinks(t *testing.T) {
	mod, err := harness.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(mod)
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(mod, f))
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = string(b)
	}
	for _, f := range files {
		for _, p := range checkLinks(mod, f, texts) {
			t.Error(p)
		}
	}
	for page, hs := range map[string][]string{
		"README.md":                        {"## Get the tarball", "## A first image", "## Where next"},
		"docs/tutorial.md":                 {"## Quick start"},
		"docs/howto/kubernetes.md":         {"## Kubernetes"},
		"docs/howto/migrate-s6-overlay.md": {"## Migrating from s6-overlay", "### What real images do"},
		"docs/howto/troubleshooting.md":    {"## Troubleshooting"},
	} {
		for _, h := range hs {
			if !strings.Contains("\n"+texts[page], "\n"+h+"\n") {
				t.Errorf("%s: no heading %q", page, h)
			}
		}
	}
}

// checkLinks returns the broken links of the page f of texts (pages by their path from the
// module root mod): a file that does not exist, an anchor no heading of its page has.
func checkLinks(mod, f string, texts map[string]string) []string {
	var problems []string
	_, links := Headings(texts[f])
	for _, l := range links {
		page := f
		if l.Path != "" {
			page = filepath.ToSlash(filepath.Join(filepath.Dir(f), l.Path))
			if strings.HasPrefix(page, "../") || filepath.IsAbs(l.Path) {
				problems = append(problems, fmt.Sprintf("%s:%d: link to %s: outside the repository", f, l.Line, l.Path))
				continue
			}
			if _, err := os.Stat(filepath.Join(mod, page)); err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: link to %s: %v", f, l.Line, l.Path, err))
				continue
			}
		}
		if l.Anchor == "" {
			continue
		}
		text, ok := texts[page]
		if !ok {
			b, err := os.ReadFile(filepath.Join(mod, page))
			if err != nil || !strings.HasSuffix(page, ".md") {
				problems = append(problems, fmt.Sprintf("%s:%d: link to %s#%s: an anchor in a file that is not a Markdown page", f, l.Line, l.Path, l.Anchor))
				continue
			}
			text = string(b)
		}
		if anchors, _ := Headings(text); !anchors[l.Anchor] {
			problems = append(problems, fmt.Sprintf("%s:%d: link to %s#%s: no heading of %s has that anchor", f, l.Line, l.Path, l.Anchor, page))
		}
	}
	return problems
}

// TestLinks: the link checker on small pages beside real files.
func TestLinks(t *testing.T) {
	mod := t.TempDir()
	if err := os.MkdirAll(filepath.Join(mod, "docs", "howto"), 0o755); err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{
		"README.md":              "# Top\n## Where next\n",
		"docs/howto/compose.md":  "# Compose\n## Stop bound\n",
		"docs/reference/knob.md": "# Knobs\n",
	}
	for f, text := range texts {
		if err := os.MkdirAll(filepath.Join(mod, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ name, page, want string }{
		{"in-page", "see [it](#top)", ""},
		{"in-page missing", "see [it](#nowhere)", "no heading of README.md"},
		{"other page", "see [it](docs/howto/compose.md#stop-bound)", ""},
		{"other page, bad anchor", "see [it](docs/howto/compose.md#stop)", "no heading of docs/howto/compose.md"},
		{"missing page", "see [it](docs/howto/gone.md)", "no such file"},
		{"outside", "see [it](../etc/passwd)", "outside the repository"},
		{"web", "see [it](https://example.org/x#y)", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pages := map[string]string{}
			for k, v := range texts {
				pages[k] = v
			}
			pages["README.md"] += tt.page + "\n"
			got := strings.Join(checkLinks(mod, "README.md", pages), "\n")
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("problems %q, want %q", got, tt.want)
			}
		})
	}
	// A link from a page of docs/ resolves from its own directory.
	pages := map[string]string{"docs/howto/compose.md": texts["docs/howto/compose.md"] + "[k](../reference/knob.md#knobs) [r](../../README.md#where-next)\n", "README.md": texts["README.md"]}
	if got := checkLinks(mod, "docs/howto/compose.md", pages); len(got) != 0 {
		t.Errorf("relative links from docs/howto: %q", got)
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
	if !anchors["a-b"] || anchors["not-a-heading"] || len(links) != 1 || links[0] != (Link{6, "a-b", ""}) {
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
