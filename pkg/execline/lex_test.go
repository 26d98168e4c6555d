package execline

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/fileerr"
)

func TestLex(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		words    []string
		prog     string
		errLine  int
		errHas   string
	}{
		{name: "script path", in: "/etc/s6-overlay/scripts/init-db\n", words: []string{"/etc/s6-overlay/scripts/init-db"}, prog: "/etc/s6-overlay/scripts/init-db"},
		{name: "echo", in: "echo hello world", words: []string{"echo", "hello", "world"}, prog: "echo"},
		{name: "comment alone", in: "# nothing to do\n", words: nil},
		{name: "empty", in: "", words: nil},
		{name: "comment after", in: "foreground { echo a } # done\necho b", words: []string{"foreground", "{", "echo", "a", "}", "echo", "b"}, prog: "foreground"},
		{name: "quotes and escapes", in: `echo "a b" "c\"d" "\n" "\0x41" "\0101" x"y"z`, words: []string{"echo", "a b", `c"d`, "\n", "A", "A", "xyz"}, prog: "echo"},
		{name: "backslash outside quotes", in: `echo a\ b`, words: []string{"echo", "a b"}, prog: "echo"},
		{name: "multi-line", in: "with-contenv\nif { true }\n/run/x.sh", words: []string{"with-contenv", "if", "{", "true", "}", "/run/x.sh"}, prog: "with-contenv"},
		{name: "leading block", in: "{ echo }", words: []string{"{", "echo", "}"}, prog: "echo"},
		{name: "quoted brace is a word", in: `echo "{"`, words: []string{"echo", "{"}, prog: "echo"},
		{name: "unclosed quote", in: "echo ok\necho \"abc\n", errLine: 2, errHas: "not closed"},
		{name: "unclosed block", in: "if {\n true\n", errLine: 1, errHas: "block not closed"},
		{name: "stray close", in: "echo }\n", errLine: 1, errHas: "no { opened"},
		{name: "trailing backslash", in: `echo \`, errLine: 1, errHas: "backslash"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			words, err := Lex(tt.in)
			if tt.errHas != "" {
				e, ok := err.(*fileerr.Error)
				if !ok || e.File != "" || e.Line != tt.errLine || !strings.Contains(e.Err.Error(), tt.errHas) {
					t.Fatalf("Lex(%q) error %v, want line %d with %q", tt.in, err, tt.errLine, tt.errHas)
				}
				if want := "line " + strconv.Itoa(tt.errLine) + ": " + e.Err.Error(); err.Error() != want {
					t.Errorf("Lex(%q) error prints %q, want %q", tt.in, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lex(%q): %v", tt.in, err)
			}
			var got []string
			for _, w := range words {
				got = append(got, w.Text)
			}
			if strings.Join(got, "|") != strings.Join(tt.words, "|") || len(got) != len(tt.words) {
				t.Fatalf("Lex(%q) = %q, want %q", tt.in, got, tt.words)
			}
			p, ok := Program(words)
			if ok != (tt.prog != "") || p.Text != tt.prog {
				t.Fatalf("Program = %q %v, want %q", p.Text, ok, tt.prog)
			}
		})
	}
}

func TestLexLines(t *testing.T) {
	words, err := Lex("a\n\"b\nc\"\nd")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 2, 4}
	for i, w := range words {
		if w.Line != want[i] {
			t.Errorf("word %q at line %d, want %d", w.Text, w.Line, want[i])
		}
	}
}

// TestRuns: a line runs a program unless it holds only comments and
// block braces; one that does not lex counts, so that execlineb names
// its error when it runs it.
func TestRuns(t *testing.T) {
	for line, want := range map[string]bool{
		"echo down":                 true,
		"# only a comment\n":        false,
		"":                          false,
		"{ }":                       false,
		"foreground { echo a } b":   true,
		`echo "unterminated`:        true,
		"  # two\n  # comments\n  ": false,
	} {
		if got := Runs(line); got != want {
			t.Errorf("Runs(%q) = %v, want %v", line, got, want)
		}
	}
}
