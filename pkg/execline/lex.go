// Package execline is ignity's own small lexer of execline's script
// syntax, the way execlineb reads a script: enough to check s6-rc's up and
// down files (one command line each) before the boot runs them with the
// shipped execlineb, and to name their program.
//
// The rules it follows (execlineb's manual, "grammar"): words are split on
// whitespace; a # where a word would start comments out the rest of the
// line; "..." is a quoted string, in which backslash escapes (\n, \t,
// \", \\, \0nnn octal, \0xhh hex, \ newline to join lines) are decoded; a
// backslash outside quotes takes the next character literally; a word
// that is exactly { opens a block and } closes it. A string that does not
// end, or a block that is not closed (or closed without being opened),
// is an error at its line.
package execline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ignity/ignity/pkg/fileerr"
)

// Word is one word of a script, decoded.
type Word struct {
	Text   string
	Line   int  // from 1
	Quoted bool // it held a quoted part: never a block brace
}

// Block reports whether w opens ("{") or closes ("}") a block.
func (w Word) Block() (open, close bool) {
	if w.Quoted {
		return false, false
	}
	return w.Text == "{", w.Text == "}"
}

// Lex splits script into words, and checks that its quotes and blocks
// balance. A syntax error is a *fileerr.Error at its line, without a file
// name ("line 2: ..."): the caller knows which file script came from.
func Lex(script string) ([]Word, error) {
	var out []Word
	line := 1
	var b strings.Builder
	in, quoted := false, false // inside a word; the word held quotes
	start := 1
	end := func() {
		if in {
			out = append(out, Word{Text: b.String(), Line: start, Quoted: quoted})
		}
		b.Reset()
		in, quoted = false, false
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\n':
			end()
			line++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			end()
		case c == '#' && !in:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			i-- // the newline counts the line
		case c == '\\':
			if !in {
				in, start = true, line
			}
			if i+1 >= len(rs) {
				return nil, &fileerr.Error{Line: line, Err: errors.New("backslash at the end of the script: it escapes nothing")}
			}
			i++
			if rs[i] == '\n' {
				line++
				continue
			}
			b.WriteRune(rs[i])
		case c == '"':
			if !in {
				in, start = true, line
			}
			quoted = true
			open := line
			i++
			closed := false
			for ; i < len(rs); i++ {
				c := rs[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\n' {
					line++
				}
				if c != '\\' {
					b.WriteRune(c)
					continue
				}
				if i+1 >= len(rs) {
					break
				}
				i++
				n, err := escape(rs, &i, &line)
				if err != nil {
					return nil, &fileerr.Error{Line: line, Err: err}
				}
				b.WriteString(n)
			}
			if !closed {
				return nil, &fileerr.Error{Line: open, Err: errors.New("quoted string not closed: a \" opens it and no \" ends it")}
			}
		default:
			if !in {
				in, start = true, line
			}
			b.WriteRune(c)
		}
	}
	end()
	depth := 0
	var opened []int
	for _, w := range out {
		switch o, c := w.Block(); {
		case o:
			depth++
			opened = append(opened, w.Line)
		case c:
			if depth == 0 {
				return nil, &fileerr.Error{Line: w.Line, Err: errors.New("} closes a block that no { opened")}
			}
			depth--
			opened = opened[:len(opened)-1]
		}
	}
	if depth > 0 {
		return nil, &fileerr.Error{Line: opened[len(opened)-1], Err: errors.New("block not closed: a { opens it and no } ends it")}
	}
	return out, nil
}

// escape decodes the escape whose character is rs[*i] (after a
// backslash, inside quotes), leaving *i on its last character.
func escape(rs []rune, i *int, line *int) (string, error) {
	c := rs[*i]
	switch c {
	case 'a':
		return "\a", nil
	case 'b':
		return "\b", nil
	case 't':
		return "\t", nil
	case 'n':
		return "\n", nil
	case 'v':
		return "\v", nil
	case 'f':
		return "\f", nil
	case 'r':
		return "\r", nil
	case '\n':
		*line++
		return "", nil
	case '0':
		// \0xhh hex or \0nnn octal
		if *i+1 < len(rs) && (rs[*i+1] == 'x' || rs[*i+1] == 'X') {
			v, n := digits(rs, *i+2, 16, 2)
			if n == 0 {
				return "", fmt.Errorf("\\0x without hex digits")
			}
			*i += 1 + n
			return string(rune(v)), nil
		}
		v, n := digits(rs, *i+1, 8, 3)
		*i += n
		return string(rune(v)), nil
	}
	return string(c), nil
}

func digits(rs []rune, from, base, most int) (int, int) {
	v, n := 0, 0
	for n < most && from+n < len(rs) {
		d := strings.IndexRune("0123456789abcdef"[:base], toLower(rs[from+n]))
		if d < 0 {
			break
		}
		v = v*base + d
		n++
	}
	return v, n
}

func toLower(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// Program is the first word of words that is not a block brace: the
// program execlineb execs. ok is false for an empty script (only
// comments: a no-op).
func Program(words []Word) (Word, bool) {
	for _, w := range words {
		if o, c := w.Block(); !o && !c {
			return w, true
		}
	}
	return Word{}, false
}

// Runs reports whether the script line runs a program when execlineb
// reads it: it has a program word (Program), or it does not lex, and
// execlineb says why when it runs it. A line of comments alone is a
// no-op.
func Runs(line string) bool {
	words, err := Lex(line)
	if err != nil {
		return true
	}
	_, ok := Program(words)
	return ok
}
