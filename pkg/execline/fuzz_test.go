package execline

import (
	"strings"
	"testing"

	"github.com/ignity/ignity/pkg/fileerr"
)

// FuzzLex: Lex never panics; when it accepts a script, its blocks
// balance, every word's line is within the script, and lexing the words
// re-quoted gives the same words.
func FuzzLex(f *testing.F) {
	for _, s := range []string{
		"/etc/s6-overlay/scripts/init\n", "echo hello", "# only a comment\n", "",
		"foreground { echo \"a b\" } echo c", "if { true } \"\\0x41\\0101\\n\"", "echo \"open",
		"if {\n", "}", "a\\ b\\\nc", "with-contenv\nimportas -i HOME HOME\ns6-setuidgid abc /app/run",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Lex(s)
		if err != nil {
			if e, ok := err.(*fileerr.Error); !ok || e.Line < 1 || e.Line > strings.Count(s, "\n")+1 {
				t.Fatalf("Lex(%q): error %v: want a *fileerr.Error at a line of the script", s, err)
			}
			return
		}
		depth := 0
		for _, w := range words {
			if w.Line < 1 || w.Line > strings.Count(s, "\n")+1 {
				t.Fatalf("Lex(%q): word %q at line %d", s, w.Text, w.Line)
			}
			o, c := w.Block()
			if o {
				depth++
			}
			if c {
				depth--
			}
			if depth < 0 {
				t.Fatalf("Lex(%q) accepted an unbalanced block", s)
			}
		}
		if depth != 0 {
			t.Fatalf("Lex(%q) accepted an unclosed block", s)
		}
		var re []string
		for _, w := range words {
			if o, c := w.Block(); o || c {
				re = append(re, w.Text)
				continue
			}
			re = append(re, quote(w.Text))
		}
		again, err := Lex(strings.Join(re, " "))
		if err != nil || len(again) != len(words) {
			t.Fatalf("Lex(%q): re-quoted %q gives %v, %v", s, re, again, err)
		}
		for i := range words {
			if again[i].Text != words[i].Text {
				t.Fatalf("Lex(%q): word %d %q re-lexes as %q", s, i, words[i].Text, again[i].Text)
			}
		}
	})
}

// quote writes s as an execline quoted string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
