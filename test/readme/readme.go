// Package readme keeps the README's code blocks honest. It reads every fenced block of a
// Markdown file, with the marker comment that may stand on the line right before it, and
// sorts each into what checks it:
//
//	<!-- example: PATH -->   a fixture: the block is PATH's content verbatim, and a test
//	                         builds or boots PATH (test/docker, examples/kubernetes)
//	<!-- output: PATH -->    an output sample: verbatim PATH, a golden file that a test
//	                         compares with a real run
//	<!-- exempt: WHY -->     development commands (task test, fuzzing), diagrams
//	<!-- run: TEST -->       a script or command that the named test runs
//
// Blocks without a marker are sorted by their language: yaml is decoded (by
// examples/kubernetes's TestReadmeYAML, which has the YAML decoder the main module does not
// depend on), json is decoded here; anything else (sh, dockerfile, a bare fence) is
// "unchecked", which TestREADME reports as an error, so that every block ends up in one of the
// kinds above. Tests of other packages fetch the text they run with RunBlocks, and TestREADME
// fails when a run: marker names a test that no _test.go file declares.
package readme

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
)

// Kind is what checks a block.
type Kind string

const (
	Example   Kind = "example"   // verbatim fixture
	Output    Kind = "output"    // verbatim golden output
	Exempt    Kind = "exempt"    // development commands, diagrams
	Run       Kind = "run"       // run by a named test
	YAML      Kind = "yaml"      // decoded by examples/kubernetes
	JSON      Kind = "json"      // decoded here
	Unchecked Kind = "unchecked" // nothing checks it yet
)

// Block is one fenced code block.
type Block struct {
	File string // the Markdown file, relative to the module root ("" when parsed from text)
	Line int    // 1-based line of the opening fence
	Lang string // the fence's info string, first word ("sh", "yaml", "")
	Kind Kind
	Arg  string // the marker's argument: a path, a reason, a test name
	Text string // the content, each line ending in "\n"
}

func (b Block) String() string {
	s := fmt.Sprintf("line %d: %s block, %s", b.Line, langName(b.Lang), b.Kind)
	if b.File != "" {
		s = b.File + ":" + s
	}
	if b.Arg != "" {
		s += " " + b.Arg
	}
	return s
}

func langName(l string) string {
	if l == "" {
		return "plain"
	}
	return l
}

var (
	marker = regexp.MustCompile(`^<!--\s*(example|output|exempt|run):\s*(.*?)\s*-->\s*$`)
	fence  = regexp.MustCompile("^(```+|~~~+)\\s*([^\\s`]*)")
)

// Parse returns the fenced blocks of Markdown text, and the problems of its markers: a
// marker not followed by a fence, a marker without an argument, a fence never closed.
func Parse(text string) ([]Block, []string) {
	var blocks []Block
	var problems []string
	var pending *Block // the marker of the previous line
	var open *Block
	var closer string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if open != nil {
			if strings.HasPrefix(strings.TrimSpace(line), closer) && strings.Trim(strings.TrimSpace(line), closer[:1]) == "" {
				blocks = append(blocks, *open)
				open = nil
				continue
			}
			open.Text += line + "\n"
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			b := Block{Line: n, Lang: strings.ToLower(m[2])}
			if pending != nil {
				b.Kind, b.Arg = pending.Kind, pending.Arg
				pending = nil
			} else {
				b.Kind = byLang(b.Lang)
			}
			open, closer = &b, m[1]
			continue
		}
		if pending != nil {
			problems = append(problems, fmt.Sprintf("line %d: <!-- %s: %s --> is not followed by a fenced block on the next line", pending.Line, pending.Kind, pending.Arg))
			pending = nil
		}
		if m := marker.FindStringSubmatch(line); m != nil {
			if m[2] == "" {
				problems = append(problems, fmt.Sprintf("line %d: <!-- %s: --> needs an argument", n, m[1]))
				continue
			}
			pending = &Block{Line: n, Kind: Kind(m[1]), Arg: m[2]}
		}
	}
	if pending != nil {
		problems = append(problems, fmt.Sprintf("line %d: <!-- %s: %s --> is not followed by a fenced block", pending.Line, pending.Kind, pending.Arg))
	}
	if open != nil {
		problems = append(problems, fmt.Sprintf("line %d: fenced block never closed", open.Line))
	}
	return blocks, problems
}

func byLang(lang string) Kind {
	switch lang {
	case "yaml", "yml":
		return YAML
	case "json":
		return JSON
	}
	return Unchecked
}

// Ext is the file extension an extracted block of this language gets.
func Ext(lang string) string {
	switch lang {
	case "sh", "shell", "bash", "console":
		return ".sh"
	case "dockerfile":
		return ".Dockerfile"
	case "":
		return ".txt"
	}
	return "." + lang
}

// Link is a link, [text](#anchor) or [text](path#anchor), and the line it is on; Path is ""
// for an in-page link.
type Link struct {
	Line   int
	Anchor string
	Path   string
}

var (
	heading    = regexp.MustCompile(`^#{1,6} +(.*?) *$`)
	pageLink   = regexp.MustCompile(`\]\(([^)\s#]*)(?:#([^)\s]+))?\)`)
	slugDelete = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// Slug is the anchor GitHub gives a heading: lower case, punctuation removed, spaces as '-'.
func Slug(title string) string {
	return strings.ReplaceAll(slugDelete.ReplaceAllString(strings.ToLower(title), ""), " ", "-")
}

// Headings returns the anchors of text's headings (outside fenced blocks), and its links
// (outside fenced blocks too): in-page ones, and relative ones to a file of the repository
// (a web address, http: or https:, is not returned).
func Headings(text string) (map[string]bool, []Link) {
	anchors := map[string]bool{}
	var links []Link
	inFence := ""
	for n, line := range strings.Split(text, "\n") {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1]
				continue
			case strings.HasPrefix(strings.TrimSpace(line), inFence) && strings.TrimSpace(strings.Trim(line, "`~")) == "":
				inFence = ""
				continue
			}
		}
		if inFence != "" {
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			anchors[Slug(m[1])] = true
		}
		for _, m := range pageLink.FindAllStringSubmatch(line, -1) {
			if strings.Contains(m[1], ":") || m[1] == "" && m[2] == "" {
				continue
			}
			links = append(links, Link{n + 1, m[2], m[1]})
		}
	}
	return anchors, links
}
